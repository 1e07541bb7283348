package stream

import (
	"fmt"

	"github.com/segmentio/kafka-go"
)

// Partitioner maps a record key to a partition. It must be the partitioner
// the producers of the input topics use.
type Partitioner interface {
	kafka.Balancer
}

// NewPartitioner returns the named partitioner: "murmur2" (Java clients'
// default, and librdkafka's murmur2) or "fnv1a" (kafka-go's and Sarama's
// Hash).
func NewPartitioner(name string) (Partitioner, error) {
	switch name {
	case "", "murmur2":
		return kafka.Murmur2Balancer{Consistent: true}, nil
	case "fnv1a":
		return &kafka.Hash{}, nil
	default:
		return nil, fmt.Errorf("partitioner %q: must be murmur2 or fnv1a", name)
	}
}

// PartitionOf returns the partition of key among n partitions.
func PartitionOf(p Partitioner, key string, n int) int {
	var parts []int
	if n <= len(partitionNumbers) {
		parts = partitionNumbers[:n] // the balancers only read it
	} else {
		parts = make([]int, n)
		for i := range parts {
			parts[i] = i
		}
	}
	return p.Balance(kafka.Message{Key: []byte(key)}, parts...)
}

// partitionNumbers are 0, 1, …, 1023: the partitions of PartitionOf's
// usual topics without an allocation per record.
var partitionNumbers = func() []int {
	out := make([]int, 1024)
	for i := range out {
		out[i] = i
	}
	return out
}()
