/*
 * Java-side benchmark for the modes the official RocketMQ benchmark tools cannot run here:
 *
 *   async   one thread calling DefaultMQProducer.send(msg, SendCallback) with the 5.x async
 *           back-pressure switched on (setEnableBackpressureForAsyncMode(true), at most
 *           --inflight messages / --inflight-bytes bytes awaiting their callback), until -q
 *           messages have had their callback. The official Producer -y true has no bound of its
 *           own besides "pause while > 10000 tasks are queued in the async executor"; on a small
 *           machine it floods the broker and every send times out, and with -q it exits before
 *           its callbacks come.
 *   oneway  -w threads calling sendOneway(msg); the official tools have no one-way mode.
 *   sync    -w threads calling send(msg) and waiting for its result, as the official Producer's
 *           sync mode; used where the official tool cannot be configured like our client: its
 *           -a true signs as a hard-coded user (rocketmq2/12345678, example.benchmark.AclClient).
 *
 * Auto-batching (W6): --auto-batch calls producer.setAutoBatch(true): send(msg) and
 * send(msg, SendCallback) then go through the client's ProduceAccumulator, which gathers messages
 * of the same topic into one SEND_BATCH_MESSAGE (sent once their bodies exceed batchMaxBytes, or
 * by its guard thread once the batch is batchMaxDelayMs old; bodies held or in flight beyond
 * totalBatchMaxBytes are sent unbatched). --batch-max-delay-ms N, --batch-max-bytes N and
 * --total-batch-max-bytes N call producer.batchMaxDelayMs / batchMaxBytes / totalBatchMaxBytes
 * (the 5.3.3 defaults, ProduceAccumulator's fields holdMs / holdSize / totalHoldSize: 10 ms,
 * 32 KiB, 32 MiB). The async back-pressure then counts batch requests, not messages. Not with
 * --mode oneway (sendOneway never batches).
 *
 * Secured brokers: --access-key AK --secret-key SK sign every request with the client's own
 * AclClientRPCHook(new SessionCredentials(AK, SK)); --tls calls producer.setUseTLS(true) (run the
 * JVM with -Dtls.enable=true -Dtls.test.mode.enable=false -Dtls.config.file=<tls.properties> so
 * the client's TlsHelper finds the trust and the client certificate, as scripts/rocketmq-local's
 * admin does).
 *
 * Built by benches/compare.sh: javac -cp "$ROCKETMQ_DIR/lib/*" (rocketmq-client 5.3.3) into a
 * build dir under ROCKETMQ_DIR. Run:
 *   java -cp "$ROCKETMQ_DIR/lib/*:<build dir>" JavaBench -n 127.0.0.1:9876 -t T --mode async -s 1024 -q 300000
 *
 * Flags follow org.apache.rocketmq.example.benchmark.Producer where it has them: -n namesrv,
 * -t topic (BenchmarkTest), -s body size (128), -w threads (64; 1 in async mode, as -y true
 * forces), -q messages (0 = no limit), -y true (= --mode async), -ri report interval ms (10000).
 * Own flags: --mode async|oneway|sync (async), --inflight N (1024, setBackPressureForAsyncSendNum),
 * --inflight-bytes N (100 MiB, setBackPressureForAsyncSendSize), --linger ms (0: wait after
 * the last one-way send before the shutdown, not timed), --send-timeout ms (3000),
 * --shutdown-timeout ms (10000: give up waiting for producer.shutdown() and exit), --auto-batch,
 * --batch-max-delay-ms N, --batch-max-bytes N, --total-batch-max-bytes N (0 or absent: the
 * client's default).
 *
 * Producer set up as the official tool does it: group benchmark_producer, instance name = start
 * time in ms, ROCKETMQ binary headers, compression off (threshold Integer.MAX_VALUE), body of
 * random alphanumerics built once.
 *
 * Output, in the official Producer's format (benches/compare.py parses it):
 *   Current Time: ... | Send TPS: N | Max RT(ms): N | Average RT(ms): x.xxx | Send Failed: N | Response Failed: N
 * every -ri ms once there are 10 one-second snapshots; TPS and average RT over those snapshots
 * (the last <= 10 s), Max RT over the run. At the end
 *   [Complete] Send Total: N | Send TPS: N | ... (the same window, as the official tool)
 * then a `Total:` line over the whole run and a `JAVA_BENCH_JSON {...}` line.
 * RT: send call to callback (async) / send call to return (sync; one-way: in the 5.3.3 client
 * sendOneway returns once the write is queued as a task on the channel's netty event loop, which
 * then takes the one-way permit and writes); measured with System.nanoTime, averaged like the
 * official tool (sum / successes).
 * "Send Failed": exceptions from the send call or the callback's onException (every async
 * failure, like the official callback); "Response Failed": in sync mode an MQBrokerException (a
 * broker refusal, as the official Producer counts it) or a result other than SEND_OK; otherwise 0
 * (no broker error reaches a callback or a one-way send as anything but an exception).
 */

import java.nio.charset.StandardCharsets;
import java.util.LinkedList;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.SerializeType;

public class JavaBench {

    static final class Stats {
        final LongAdder success = new LongAdder();
        final LongAdder sendFailed = new LongAdder();
        final LongAdder responseFailed = new LongAdder();
        final LongAdder rtTotalUs = new LongAdder();
        final AtomicLong maxRtUs = new AtomicLong();
        final AtomicReference<String> firstError = new AtomicReference<>();

        void ok(long beginNs) {
            long us = (System.nanoTime() - beginNs) / 1000;
            success.increment();
            rtTotalUs.add(us);
            long prev = maxRtUs.get();
            while (us > prev && !maxRtUs.compareAndSet(prev, us)) {
                prev = maxRtUs.get();
            }
        }

        void failed(Throwable e) {
            sendFailed.increment();
            if (e != null) {
                firstError.compareAndSet(null, e.toString());
            }
        }

        void responseFailed(String why) {
            responseFailed.increment();
            firstError.compareAndSet(null, why);
        }

        /** {time ms, success, send failed, response failed, rt total us} */
        long[] snapshot() {
            return new long[] {System.currentTimeMillis(), success.sum(), sendFailed.sum(), responseFailed.sum(),
                rtTotalUs.sum()};
        }
    }

    static String opt(String[] args, String def, String... names) {
        for (int i = 0; i < args.length - 1; i++) {
            for (String n : names) {
                if (args[i].equals(n)) {
                    return args[i + 1].trim();
                }
            }
        }
        return def;
    }

    static void usage(String why) {
        System.err.println("JavaBench: " + why);
        System.err.println("usage: JavaBench -n NAMESRV [-t TOPIC] [--mode async|oneway|sync | -y true] [-s SIZE] [-w THREADS]"
            + " [-q MESSAGES] [-ri MS] [--inflight N] [--inflight-bytes N] [--linger MS] [--send-timeout MS]"
            + " [--shutdown-timeout MS] [--auto-batch [--batch-max-delay-ms MS] [--batch-max-bytes N]"
            + " [--total-batch-max-bytes N]] [--access-key AK --secret-key SK] [--tls]");
        System.exit(2);
    }

    /** The official tool's window: [TPS, average RT ms] over the first and last snapshot. */
    static double[] window(LinkedList<long[]> snaps) {
        long[] b = snaps.getFirst();
        long[] e = snaps.getLast();
        double tps = (e[1] - b[1]) / (double) (e[0] - b[0]) * 1000.0;
        double avg = (e[4] - b[4]) / 1000.0 / (double) (e[1] - b[1]);
        return new double[] {tps, avg};
    }

    public static void main(String[] args) throws Exception {
        System.setProperty(RemotingCommand.SERIALIZE_TYPE_PROPERTY, SerializeType.ROCKETMQ.name());
        boolean tls = false;
        boolean autoBatch = false;
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                usage("help");
            }
            if (a.equals("--tls")) {
                tls = true;
            }
            if (a.equals("--auto-batch")) {
                autoBatch = true;
            }
        }
        final String namesrv = opt(args, null, "-n", "--namesrv");
        final String topic = opt(args, "BenchmarkTest", "-t", "--topic");
        String mode = opt(args, "async", "--mode").toLowerCase(Locale.ROOT);
        if (Boolean.parseBoolean(opt(args, "false", "-y", "--asyncEnable"))) {
            mode = "async";
        }
        if (!mode.equals("async") && !mode.equals("oneway") && !mode.equals("sync")) {
            usage("--mode must be async, oneway or sync");
        }
        final boolean async = mode.equals("async");
        final boolean sync = mode.equals("sync");
        final int size = Integer.parseInt(opt(args, "128", "-s", "--messageSize"));
        final int threads = async ? 1 : Math.max(1, Integer.parseInt(opt(args, "64", "-w", "--threadCount")));
        final long total = Long.parseLong(opt(args, "0", "-q", "--messageQuantity"));
        final long reportMs = Math.max(1, Long.parseLong(opt(args, "10000", "-ri", "--reportInterval")));
        final int inflight = Integer.parseInt(opt(args, "1024", "--inflight"));
        final int inflightBytes = Integer.parseInt(opt(args, String.valueOf(100 * 1024 * 1024), "--inflight-bytes"));
        final long lingerMs = Long.parseLong(opt(args, "0", "--linger"));
        final int sendTimeout = Integer.parseInt(opt(args, "3000", "--send-timeout"));
        final long shutdownMs = Long.parseLong(opt(args, "10000", "--shutdown-timeout"));
        final int batchMaxDelayMs = Integer.parseInt(opt(args, "0", "--batch-max-delay-ms"));
        final long batchMaxBytes = Long.parseLong(opt(args, "0", "--batch-max-bytes"));
        final long totalBatchMaxBytes = Long.parseLong(opt(args, "0", "--total-batch-max-bytes"));
        final String accessKey = opt(args, null, "--access-key");
        final String secretKey = opt(args, null, "--secret-key");
        if (namesrv == null) {
            usage("-n NAMESRV is required");
        }
        if ((accessKey == null) != (secretKey == null)) {
            usage("--access-key and --secret-key go together");
        }
        if (autoBatch && mode.equals("oneway")) {
            usage("--auto-batch is for --mode async or sync (sendOneway never batches)");
        }

        System.out.printf("topic: %s, mode: %s, threadCount: %d, messageSize: %d, messageQuantity: %d, "
                + "backpressure: %s, inflight: %d, inflightBytes: %d, sendTimeout: %d, linger: %d, namesrv: %s, "
                + "accessKey: %s, useTLS: %s, autoBatch: %s%n",
            topic, mode, threads, size, total, async, inflight, inflightBytes, sendTimeout, lingerMs, namesrv,
            accessKey == null ? "(none)" : accessKey, tls, autoBatch);

        final String alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder(size);
        Random rnd = new Random();
        for (int i = 0; i < size; i++) {
            sb.append(alnum.charAt(rnd.nextInt(alnum.length())));
        }
        final byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);

        final Stats stats = new Stats();
        final LinkedList<long[]> snaps = new LinkedList<>();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "BenchmarkTimerThread");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(() -> {
            synchronized (snaps) {
                snaps.addLast(stats.snapshot());
                if (snaps.size() > 10) {
                    snaps.removeFirst();
                }
            }
        }, 1000, 1000, TimeUnit.MILLISECONDS);
        timer.scheduleAtFixedRate(() -> {
            double[] w;
            long[] last;
            synchronized (snaps) {
                if (snaps.size() < 10) {
                    return;
                }
                w = window(snaps);
                last = snaps.getLast();
            }
            System.out.printf("Current Time: %s | Send TPS: %d | Max RT(ms): %d | Average RT(ms): %7.3f | Send Failed: %d | Response Failed: %d%n",
                UtilAll.timeMillisToHumanString2(System.currentTimeMillis()), (long) w[0], stats.maxRtUs.get() / 1000,
                w[1], last[2], last[3]);
        }, reportMs, reportMs, TimeUnit.MILLISECONDS);

        final DefaultMQProducer producer = accessKey == null
            ? new DefaultMQProducer("benchmark_producer")
            : new DefaultMQProducer("benchmark_producer", new AclClientRPCHook(new SessionCredentials(accessKey, secretKey)));
        if (tls) {
            producer.setUseTLS(true);
        }
        producer.setInstanceName(Long.toString(System.currentTimeMillis()));
        producer.setNamesrvAddr(namesrv);
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.setSendMsgTimeout(sendTimeout);
        if (async) {
            producer.setEnableBackpressureForAsyncMode(true);
            producer.setBackPressureForAsyncSendNum(inflight);
            producer.setBackPressureForAsyncSendSize(inflightBytes);
        }
        if (autoBatch) {
            producer.setAutoBatch(true);
            // Stored in the producer and handed to its ProduceAccumulator by start()
            // (initProduceAccumulator); the accumulator's own defaults apply to those left at -1.
            if (batchMaxDelayMs > 0) {
                producer.batchMaxDelayMs(batchMaxDelayMs);
            }
            if (batchMaxBytes > 0) {
                producer.batchMaxBytes(batchMaxBytes);
            }
            if (totalBatchMaxBytes > 0) {
                producer.totalBatchMaxBytes(totalBatchMaxBytes);
            }
        }
        producer.start();
        if (autoBatch) {
            System.out.printf("autoBatch: %s, batchMaxDelayMs: %d, batchMaxBytes: %d%n", producer.getAutoBatch(),
                producer.getBatchMaxDelayMs(), producer.getBatchMaxBytes());
        }

        final long t0 = System.nanoTime();
        if (async) {
            // One sender; the back-pressure semaphores (taken in send(), given back before the
            // callback runs) are the only bound. The latch counts completed callbacks.
            final CountDownLatch done = new CountDownLatch((int) Math.min(total > 0 ? total : Integer.MAX_VALUE,
                Integer.MAX_VALUE));
            for (long i = 0; total == 0 || i < total; i++) {
                final Message msg = new Message(topic, body);
                final long begin = System.nanoTime();
                try {
                    producer.send(msg, new SendCallback() {
                        @Override
                        public void onSuccess(SendResult r) {
                            stats.ok(begin);
                            done.countDown();
                        }

                        @Override
                        public void onException(Throwable e) {
                            stats.failed(e);
                            done.countDown();
                        }
                    });
                } catch (Exception e) {
                    stats.failed(e);
                    done.countDown();
                }
            }
            if (!done.await(sendTimeout * 3L + 30000L, TimeUnit.MILLISECONDS)) {
                System.out.printf("JavaBench: %d callbacks never came%n", done.getCount());
            }
        } else if (sync) {
            // The official Producer's sync loop: each thread sends and waits for the result.
            Thread[] ts = new Thread[threads];
            for (int k = 0; k < threads; k++) {
                final long quota = total == 0 ? Long.MAX_VALUE : total / threads + (k < total % threads ? 1 : 0);
                ts[k] = new Thread(() -> {
                    for (long i = 0; i < quota; i++) {
                        final Message msg = new Message(topic, body);
                        final long begin = System.nanoTime();
                        try {
                            SendResult r = producer.send(msg);
                            if (r.getSendStatus() == SendStatus.SEND_OK) {
                                stats.ok(begin);
                            } else {
                                stats.responseFailed("send status " + r.getSendStatus());
                            }
                        } catch (MQBrokerException e) {
                            stats.responseFailed(e.toString());
                        } catch (Exception e) {
                            stats.failed(e);
                        }
                    }
                }, "sync-sender-" + k);
                ts[k].start();
            }
            for (Thread t : ts) {
                t.join();
            }
        } else {
            Thread[] ts = new Thread[threads];
            for (int k = 0; k < threads; k++) {
                final long quota = total == 0 ? Long.MAX_VALUE : total / threads + (k == 0 ? total % threads : 0);
                ts[k] = new Thread(() -> {
                    for (long i = 0; i < quota; i++) {
                        final Message msg = new Message(topic, body);
                        final long begin = System.nanoTime();
                        try {
                            producer.sendOneway(msg);
                            stats.ok(begin);
                        } catch (Exception e) {
                            stats.failed(e);
                        }
                    }
                }, "oneway-sender-" + k);
                ts[k].start();
            }
            for (Thread t : ts) {
                t.join();
            }
        }
        final double elapsed = (System.nanoTime() - t0) / 1e9;
        timer.shutdownNow();

        double[] w = null;
        synchronized (snaps) {
            if (snaps.size() > 1) {
                w = window(snaps);
            }
        }
        long ok = stats.success.sum();
        long sf = stats.sendFailed.sum();
        long rf = stats.responseFailed.sum();
        double avgAll = ok > 0 ? stats.rtTotalUs.sum() / 1000.0 / ok : 0.0;
        double totalTps = elapsed > 0 ? ok / elapsed : 0.0;
        if (w != null) {
            System.out.printf("[Complete] Send Total: %d | Send TPS: %d | Max RT(ms): %d | Average RT(ms): %7.3f | Send Failed: %d | Response Failed: %d%n",
                ok + sf + rf, (long) w[0], stats.maxRtUs.get() / 1000, w[1], sf, rf);
        } else {
            System.out.printf("[Complete] Send Total: %d Send Failed: %d Response Failed: %d%n", ok + sf + rf, sf, rf);
        }
        System.out.printf(Locale.ROOT, "Total: %d msgs in %.3f s = %.0f msgs/s | Average RT(ms) %.3f | Max RT(ms) %.3f | Send Failed: %d | Response Failed: %d%n",
            ok, elapsed, totalTps, avgAll, stats.maxRtUs.get() / 1000.0, sf, rf);
        if (stats.firstError.get() != null) {
            System.out.println("first error: " + stats.firstError.get());
        }
        System.out.printf(Locale.ROOT, "JAVA_BENCH_JSON {\"tool\":\"JavaBench\",\"mode\":\"%s\",\"threads\":%d,\"size\":%d,"
                + "\"auto_batch\":%s,\"inflight\":%d,\"inflight_bytes\":%d,\"messages\":%d,\"send_failed\":%d,\"response_failed\":%d,"
                + "\"elapsed_s\":%.4f,\"msgs_per_s\":%.1f,\"window_tps\":%.1f,\"avg_rt_ms\":%.3f,\"window_avg_rt_ms\":%.3f,"
                + "\"max_rt_ms\":%.3f}%n",
            mode, threads, size, autoBatch, async ? inflight : 0, async ? inflightBytes : 0, ok, sf, rf, elapsed, totalTps,
            w != null ? w[0] : totalTps, avgAll, w != null ? w[1] : avgAll, stats.maxRtUs.get() / 1000.0);
        System.out.flush();

        if (lingerMs > 0) {
            // Lets one-way frames still queued in the channel reach the broker before the
            // shutdown closes it; not timed.
            Thread.sleep(lingerMs);
        }
        // Bounded shutdown: after a one-way flood the 5.3.3 client's netty event loop can sit for
        // minutes in invokeOnewayImpl (it runs there, as a listener of the channel future, and
        // waits up to the send timeout for a one-way permit that only that same thread can give
        // back), and shutdown() waits for that event loop.
        Thread closer = new Thread(producer::shutdown, "producer-shutdown");
        closer.setDaemon(true);
        closer.start();
        closer.join(shutdownMs);
        if (closer.isAlive()) {
            System.out.printf("JavaBench: producer.shutdown() did not return within %d ms; exiting without it%n",
                shutdownMs);
            System.out.flush();
            Runtime.getRuntime().halt(ok > 0 ? 0 : 1);
        }
        System.exit(ok > 0 ? 0 : 1);
    }
}
