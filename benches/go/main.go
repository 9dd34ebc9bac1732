// Producer benchmark on the official Go client, github.com/apache/rocketmq-client-go/v2, for
// benches/compare.sh: the same workloads, flags and output as our tool (examples/benchmark) and
// benches/java/JavaBench.java where the Go client's API has them.
//
//	go build -o gobench . && ./gobench -n 127.0.0.1:9876 -t BenchCompare --mode sync -w 64 -s 1024 -q 300000
//
// Modes:
//
//	sync    -w goroutines, each calling SendSync(msg) and waiting for its result (Java's sync loop).
//	async   one goroutine calling SendAsync(msg, callback), at most --inflight (1024) messages
//	        awaiting their callback: the Go client has no back-pressure of its own (every SendAsync
//	        starts a goroutine that writes and waits), so the bound is a semaphore here, like the
//	        producer's in-flight budget of ours and JavaBench's setBackPressureForAsyncSendNum.
//	oneway  -w goroutines calling SendOneWay(msg); it returns once the frame is written to the
//	        connection (the client writes under the connection's lock, no queue).
//	batch   -w goroutines calling SendSync with --batch-size messages (one SEND_BATCH_MESSAGE).
//
// Flags as our tool's: -n namesrv (a;b), -t topic (BenchmarkTest), -w goroutines (64; 1 in
// async mode), -s body size (128), --mode, -b/--batch-size (32), -q messages (0 = no limit),
// --inflight (1024), --linger ms (0: wait after the last send before the shutdown, not timed),
// --send-timeout ms (3000), --report-interval/-ri ms (1000), --group (benchmark_producer),
// --retry (2, Java's retryTimesWhenSendFailed; the Go client's default is 3), --log-level
// (error: the client's logrus logger, which logs at info by default).
//
// Producer set up like ours and Java's benchmark: group benchmark_producer, instance name = start
// time in ms, compression off (threshold MaxInt32), round-robin queue selection, body of random
// alphanumerics built once, a new Message per send. Where it cannot match: the Go client always
// sends JSON request headers (its codec type is an unexported package variable; ours and Java
// send ROCKETMQ binary headers), and it has no auto-batching.
//
// Output, in our tool's format (benches/compare.py parses the BENCH_JSON line):
//
//	Current Time: ... | Send TPS: N | Max RT(ms): .. | Average RT(ms): .. | Send Failed: N | Response Failed: N
//
// every --report-interval ms, TPS and average RT over the last <= 10 one-second snapshots, Max RT
// over the run; at the end `[Complete] ...` (the same window), `Total: ...` (all messages / time
// from the first send to the last result or hand-off; p50/p90/p99/p99.9 from a log-linear
// histogram with 1/64 resolution), `first error: ...` lines, and `BENCH_JSON {...}`.
// RT: send call to return (sync, batch, one-way) or to callback (async). "Send Failed": errors
// without a broker answer (timeouts, connection errors); "Response Failed": broker error codes
// (the client's "CODE: n, DESC: ..." errors) or a status other than SEND_OK. A sync, batch or
// one-way goroutine pauses 3 s after a failure, as the Java tool and ours do.
//
// Exit status: 0 done, 1 failure (nothing sent, cannot start), 2 bad usage.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	window       = 10 // one-second snapshots per report window, as ours and Java
	failurePause = 3 * time.Second
	subBits      = 6 // histogram: 64 sub-buckets per power of two
	subCount     = 1 << subBits
)

// hist is a log-linear histogram of microseconds: exact below 2*subCount, then 64 buckets per
// power of two (at most 1/64 relative error).
type hist struct {
	counts [(64-subBits)*subCount + 2*subCount]atomic.Uint64
}

func bucketOf(us uint64) int {
	if us < 2*subCount {
		return int(us)
	}
	e := bits.Len64(us) - subBits - 1 // us >> e is in [subCount, 2*subCount)
	return 2*subCount + (e-1)*subCount + int(us>>uint(e)) - subCount
}

func bucketValue(i int) uint64 {
	if i < 2*subCount {
		return uint64(i)
	}
	e := (i-2*subCount)/subCount + 1
	sub := uint64((i-2*subCount)%subCount + subCount)
	return sub<<uint(e) + (uint64(1)<<uint(e))/2 // the bucket's middle
}

func (h *hist) record(us uint64) { h.counts[bucketOf(us)].Add(1) }

func (h *hist) quantileMs(q float64) float64 {
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return float64(bucketValue(i)) / 1000.0
		}
	}
	return 0
}

type stats struct {
	okRequests     atomic.Uint64
	okMsgs         atomic.Uint64
	sendFailed     atomic.Uint64
	responseFailed atomic.Uint64
	rtTotalUs      atomic.Uint64
	maxRtUs        atomic.Uint64
	h              hist
	errMu          sync.Mutex
	firstErrors    []string
}

func (s *stats) success(msgs uint64, rt time.Duration) {
	us := uint64(rt.Microseconds())
	if us < 1 {
		us = 1
	}
	s.okRequests.Add(1)
	s.okMsgs.Add(msgs)
	s.rtTotalUs.Add(us)
	for {
		m := s.maxRtUs.Load()
		if us <= m || s.maxRtUs.CompareAndSwap(m, us) {
			break
		}
	}
	s.h.record(us)
}

// failure counts err; it reports whether it was a broker answer.
func (s *stats) failure(err error) bool {
	what := err.Error()
	response := strings.HasPrefix(what, "CODE:") || strings.HasPrefix(what, "send status ")
	if response {
		s.responseFailed.Add(1)
	} else {
		s.sendFailed.Add(1)
	}
	s.errMu.Lock()
	if len(s.firstErrors) < 5 {
		known := false
		for _, e := range s.firstErrors {
			known = known || e == what
		}
		if !known {
			s.firstErrors = append(s.firstErrors, what)
		}
	}
	s.errMu.Unlock()
	return response
}

type snapshot struct {
	at         time.Time
	okRequests uint64
	okMsgs     uint64
	rtTotalUs  uint64
}

func (s *stats) snap() snapshot {
	return snapshot{time.Now(), s.okRequests.Load(), s.okMsgs.Load(), s.rtTotalUs.Load()}
}

// windowOf: msgs/s and average RT (ms) between the first and the last snapshot.
func windowOf(snaps []snapshot) (float64, float64) {
	if len(snaps) < 2 {
		return 0, 0
	}
	b, e := snaps[0], snaps[len(snaps)-1]
	dt := e.at.Sub(b.at).Seconds()
	tps, avg := 0.0, 0.0
	if dt > 0 {
		tps = float64(e.okMsgs-b.okMsgs) / dt
	}
	if reqs := e.okRequests - b.okRequests; reqs > 0 {
		avg = float64(e.rtTotalUs-b.rtTotalUs) / float64(reqs) / 1000.0
	}
	return tps, avg
}

func (s *stats) line(tps, avg float64) string {
	return fmt.Sprintf("Send TPS: %.0f | Max RT(ms): %.3f | Average RT(ms): %7.3f | Send Failed: %d | Response Failed: %d",
		tps, float64(s.maxRtUs.Load())/1000.0, avg, s.sendFailed.Load(), s.responseFailed.Load())
}

func randomBody(size int) []byte {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, size)
	for i := range b {
		b[i] = alnum[rand.Intn(len(alnum))]
	}
	return b
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func peakRssMb() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				kb, _ := strconv.ParseFloat(fields[0], 64)
				return kb / 1024.0
			}
		}
	}
	return 0
}

func usage(why string) {
	fmt.Fprintf(os.Stderr, "gobench: %s\n", why)
	flag.Usage()
	os.Exit(2)
}

func main() {
	namesrv := flag.String("n", "", "name server list (host:port;host:port); default $ROCKETMQ_NAMESRV_ADDR or 127.0.0.1:9876")
	topic := flag.String("t", "BenchmarkTest", "topic")
	threads := flag.Int("w", 64, "concurrent senders (sync, oneway, batch); async uses one")
	size := flag.Int("s", 128, "message body size in bytes")
	mode := flag.String("mode", "sync", "sync | async | oneway | batch")
	batchSize := flag.Int("batch-size", 32, "messages per batch in batch mode")
	flag.IntVar(batchSize, "b", 32, "same as --batch-size")
	total := flag.Uint64("q", 0, "messages to send (0 = no limit)")
	inflight := flag.Int("inflight", 1024, "async: messages awaiting their callback at most")
	lingerMs := flag.Int("linger", 0, "ms to wait after the last send before the shutdown (not timed)")
	sendTimeoutMs := flag.Int("send-timeout", 3000, "send timeout in ms")
	reportMs := flag.Int("report-interval", 1000, "ms between report lines")
	flag.IntVar(reportMs, "ri", 1000, "same as --report-interval")
	group := flag.String("group", "benchmark_producer", "producer group")
	retry := flag.Int("retry", 2, "retries of a failed sync or one-way send (Java's default 2)")
	logLevel := flag.String("log-level", "error", "the Go client's log level (debug, info, warn, error, fatal)")
	flag.Parse()
	if flag.NArg() > 0 {
		usage("unexpected argument " + flag.Arg(0))
	}
	switch *mode {
	case "sync", "async", "oneway", "batch":
	default:
		usage("--mode must be sync, async, oneway or batch")
	}
	rlog.SetLogLevel(*logLevel)
	if *namesrv == "" {
		*namesrv = os.Getenv("ROCKETMQ_NAMESRV_ADDR")
	}
	if *namesrv == "" {
		*namesrv = "127.0.0.1:9876"
	}
	workers := *threads
	if *mode == "async" || workers < 1 {
		workers = 1
	}
	perRequest := uint64(1)
	if *mode == "batch" {
		if *batchSize < 1 {
			*batchSize = 1
		}
		perRequest = uint64(*batchSize)
	}
	if *inflight < 1 {
		*inflight = 1
	}
	fmt.Printf("topic: %s, mode: %s, threadCount: %d, inflight: %d, messageSize: %d, batchSize: %d, messageQuantity: %d, "+
		"sendTimeout: %d, retry: %d, serializeType: JSON, namesrv: %s\n",
		*topic, *mode, workers, *inflight, *size, perRequest, *total, *sendTimeoutMs, *retry, *namesrv)

	sendTimeout := time.Duration(*sendTimeoutMs) * time.Millisecond
	p, err := rocketmq.NewProducer(
		producer.WithNameServer(strings.Split(*namesrv, ";")),
		producer.WithGroupName(*group),
		producer.WithInstanceName(strconv.FormatInt(time.Now().UnixMilli(), 10)),
		producer.WithSendMsgTimeout(sendTimeout),
		producer.WithRetry(*retry),
		producer.WithCompressMsgBodyOverHowmuch(math.MaxInt32),
	)
	if err == nil {
		err = p.Start()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gobench: producer did not start: %v\n", err)
		os.Exit(1)
	}

	body := randomBody(*size)
	newMsg := func() *primitive.Message { return primitive.NewMessage(*topic, body) }
	st := &stats{}

	// Report: a snapshot every second, a line every report interval; the window is the last
	// <= 10 one-second intervals (11 snapshots), as ours.
	var snapMu sync.Mutex
	snaps := []snapshot{st.snap()}
	stopReport := make(chan struct{})
	reportDone := make(chan struct{})
	every := (*reportMs + 999) / 1000
	if every < 1 {
		every = 1
	}
	go func() {
		defer close(reportDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-stopReport:
				return
			case <-tick.C:
			}
			snapMu.Lock()
			snaps = append(snaps, st.snap())
			if len(snaps) > window+1 {
				snaps = snaps[1:]
			}
			tps, avg := windowOf(snaps)
			snapMu.Unlock()
			if n%every == 0 {
				fmt.Printf("Current Time: %s | %s\n", time.Now().UTC().Format("15:04:05.000 UTC"), st.line(tps, avg))
			}
		}
	}()

	// Requests per worker: the total split evenly, the remainder to the first (ours and Java).
	requests := uint64(0)
	if *total > 0 {
		requests = (*total + perRequest - 1) / perRequest
	}
	quota := func(k int) uint64 {
		if requests == 0 {
			return math.MaxUint64
		}
		q := requests / uint64(workers)
		if k == 0 {
			q += requests % uint64(workers)
		}
		return q
	}

	ctx := context.Background()
	started := time.Now()
	if *mode == "async" {
		sem := make(chan struct{}, *inflight)
		var wg sync.WaitGroup
		n := quota(0)
		for i := uint64(0); i < n; i++ {
			sem <- struct{}{}
			wg.Add(1)
			begin := time.Now()
			err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
				if err == nil && r != nil && r.Status != primitive.SendOK {
					err = fmt.Errorf("send status %d", r.Status)
				}
				if err != nil {
					st.failure(err)
				} else {
					st.success(1, time.Since(begin))
				}
				<-sem
				wg.Done()
			}, newMsg())
			if err != nil {
				st.failure(err)
				<-sem
				wg.Done()
			}
		}
		wg.Wait()
	} else {
		var wg sync.WaitGroup
		for k := 0; k < workers; k++ {
			n := quota(k)
			if n == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := uint64(0); i < n; i++ {
					begin := time.Now()
					var err error
					switch *mode {
					case "oneway":
						err = p.SendOneWay(ctx, newMsg())
					case "batch":
						msgs := make([]*primitive.Message, perRequest)
						for j := range msgs {
							msgs[j] = newMsg()
						}
						var r *primitive.SendResult
						r, err = p.SendSync(ctx, msgs...)
						if err == nil && r.Status != primitive.SendOK {
							err = fmt.Errorf("send status %d", r.Status)
						}
					default:
						var r *primitive.SendResult
						r, err = p.SendSync(ctx, newMsg())
						if err == nil && r.Status != primitive.SendOK {
							err = fmt.Errorf("send status %d", r.Status)
						}
					}
					if err == nil {
						st.success(perRequest, time.Since(begin))
					} else {
						st.failure(err)
						time.Sleep(failurePause)
					}
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(started).Seconds()
	close(stopReport)
	<-reportDone
	snapMu.Lock()
	windowTps, _ := windowOf(snaps)
	snapMu.Unlock()

	if *lingerMs > 0 {
		// Lets one-way frames reach the broker before the shutdown closes the connection; not timed.
		time.Sleep(time.Duration(*lingerMs) * time.Millisecond)
	}
	_ = p.Shutdown()
	cpu := cpuSeconds()
	rss := peakRssMb()

	okMsgs, okReqs := st.okMsgs.Load(), st.okRequests.Load()
	sf, rf := st.sendFailed.Load(), st.responseFailed.Load()
	totalTps := 0.0
	if elapsed > 0 {
		totalTps = float64(okMsgs) / elapsed
	}
	if windowTps <= 0 {
		windowTps = totalTps
	}
	avgRt := 0.0
	if okReqs > 0 {
		avgRt = float64(st.rtTotalUs.Load()) / float64(okReqs) / 1000.0
	}
	maxRt := float64(st.maxRtUs.Load()) / 1000.0
	cpuPer1000 := 0.0
	if okMsgs > 0 {
		cpuPer1000 = cpu / (float64(okMsgs) / 1000.0)
	}
	status := "ok"
	if okMsgs == 0 {
		status = "error"
	}
	fmt.Printf("[Complete] Send Total: %d | Send TPS: %.0f | Max RT(ms): %.3f | Average RT(ms): %7.3f | Send Failed: %d | Response Failed: %d\n",
		okMsgs+sf+rf, windowTps, maxRt, avgRt, sf, rf)
	fmt.Printf("Total: %d msgs in %.3f s = %.0f msgs/s | RT(ms) p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f | CPU %.4f s per 1000 msgs (%.2f s) | peak RSS %.1f MB\n",
		okMsgs, elapsed, totalTps, st.h.quantileMs(0.5), st.h.quantileMs(0.9), st.h.quantileMs(0.99), st.h.quantileMs(0.999),
		maxRt, cpuPer1000, cpu, rss)
	for _, e := range st.firstErrors {
		fmt.Printf("first error: %s\n", e)
	}
	batch := 0
	if *mode == "batch" {
		batch = int(perRequest)
	}
	out := map[string]any{
		"tool": "rocketmq-client-go", "status": status, "mode": *mode, "threads": workers, "inflight": *inflight,
		"size": *size, "batch_size": batch, "serialize": "Json", "stub": false, "messages": okMsgs, "requests": okReqs,
		"send_failed": sf, "response_failed": rf, "elapsed_s": round(elapsed, 4), "msgs_per_s": round(totalTps, 1),
		"window_tps": round(windowTps, 1), "avg_rt_ms": round(avgRt, 3), "max_rt_ms": round(maxRt, 3),
		"p50_ms": round(st.h.quantileMs(0.5), 3), "p90_ms": round(st.h.quantileMs(0.9), 3),
		"p99_ms": round(st.h.quantileMs(0.99), 3), "p999_ms": round(st.h.quantileMs(0.999), 3),
		"cpu_s": round(cpu, 4), "cpu_ms_per_1000": round(cpuPer1000*1000.0, 3), "peak_rss_mb": round(rss, 1),
	}
	j, _ := json.Marshal(out)
	fmt.Printf("BENCH_JSON %s\n", j)
	if status != "ok" {
		os.Exit(1)
	}
}

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}
