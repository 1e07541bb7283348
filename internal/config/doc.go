// Package config is clvstream's configuration: one documented struct
// loaded from a YAML file, then overridden by environment variables, then by
// command-line --set flags; zero values mean defaults.
//
// Every leaf option has a dotted path made of its YAML keys (for example
// kafka.brokers or scoring.default_margin). The same path names it in an
// environment variable (CLVSTREAM_ + the path upper-cased with dots turned
// into underscores: CLVSTREAM_KAFKA_BROKERS) and in a flag
// (--set kafka.brokers=host:9092). Lists are comma-separated, durations use
// Go syntax (250ms, 24h). Validate reports every problem, each naming its
// path and the fix.
package config
