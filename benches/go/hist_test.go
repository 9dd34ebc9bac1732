package main

import "testing"

// Every value lands in a bucket whose representative is within 1/64 of it, and bucket indexes
// grow with the value.
func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 127, 128, 129, 130, 255, 256, 1000, 65535, 1 << 20, 3<<30 + 7, 1 << 62} {
		i := bucketOf(us)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", us, i, prev)
		}
		prev = i
		v := bucketValue(i)
		d := float64(v) - float64(us)
		if d < 0 {
			d = -d
		}
		if us > 0 && d/float64(us) > 1.0/64 {
			t.Fatalf("bucketValue(bucketOf(%d)) = %d", us, v)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h hist
	for us := uint64(1); us <= 1000; us++ {
		h.record(us)
	}
	if q := h.quantileMs(0.5); q < 0.49 || q > 0.51 {
		t.Fatalf("p50 = %f ms", q)
	}
	if q := h.quantileMs(0.99); q < 0.98 || q > 1.0 {
		t.Fatalf("p99 = %f ms", q)
	}
}
