{{/* Chart name, truncated to 63 characters (a DNS label). */}}
{{- define "clvstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it contains the chart name. */}}
{{- define "clvstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the pods; never change them on upgrade. */}}
{{- define "clvstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clvstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "clvstream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "clvstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: stream-processor
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The Secret the CLVSTREAM_* variables come from. */}}
{{- define "clvstream.secretName" -}}
{{- default (include "clvstream.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The query API tokens: secrets.apiTokens; else, with http.auth bearer, the
token of the release's existing Secret (kept across upgrades), else a new
random one. Empty with http.auth none.
*/}}
{{- define "clvstream.apiTokens" -}}
{{- if .Values.secrets.apiTokens }}
{{- .Values.secrets.apiTokens }}
{{- else if ne (dig "http" "auth" "bearer" .Values.config) "none" }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "clvstream.fullname" .) }}
{{- if and $existing $existing.data (hasKey $existing.data "CLVSTREAM_HTTP_API_TOKENS") }}
{{- index $existing.data "CLVSTREAM_HTTP_API_TOKENS" | b64dec }}
{{- else }}
{{- randAlphaNum 48 }}
{{- end }}
{{- end }}
{{- end }}
