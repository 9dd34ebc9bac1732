// Creates the topics, users and ACLs of `scripts/rocketmq-local start --auth`, idempotently, in ONE
// JVM with the admin tool's API (org.apache.rocketmq.tools.admin.DefaultMQAdminExt, what
// MQAdminStartup's updateTopic / createUser / updateUser / createAcl / deleteAcl commands call).
// One JVM instead of one `mqadmin` run per step: each run costs ~5 s on a small machine.
//
// Run with the JDK's source-file launcher (no build step):
//   java -cp '<lib>/*' [-Dtls.enable=true -Dtls.config.file=...] AuthSetup.java \
//        <namesrvAddr> <brokerAddr> <tools.yml> < steps
// It signs with the super user of <tools.yml> (accessKey/secretKey, like the admin tool, via
// org.apache.rocketmq.acl.common.AclUtils#getAclRPCHook). Steps, one per line (blank lines and
// lines starting with # are skipped; fields separated by blanks):
//   topic <name> <readQueues> <writeQueues>             create or update (perm 6 = read+write)
//   user <name> <password> <Normal|Super>                create, or reset password/type/enabled
//   acl-clear <subject>                                  delete every policy of the subject, if any
//   acl <subject> <res,res..> <action,action..> <Allow|Deny>   add policies (merged by the broker)
// Exit status 0 when every step succeeded, 1 otherwise (the failing step is named on stderr).
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.rocketmq.acl.common.AclUtils;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

public class AuthSetup {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: AuthSetup <namesrvAddr> <brokerAddr> <tools.yml> < steps");
            System.exit(2);
        }
        String namesrv = args[0], broker = args[1];
        RPCHook hook = AclUtils.getAclRPCHook(args[2]);
        if (hook == null) {
            System.err.println("AuthSetup: no accessKey/secretKey in " + args[2]);
            System.exit(1);
        }
        List<String[]> steps = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            line = line.trim();
            if (!line.isEmpty() && !line.startsWith("#")) {
                steps.add(line.split("\\s+"));
            }
        }

        DefaultMQAdminExt admin = new DefaultMQAdminExt(hook);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("auth-setup-" + System.currentTimeMillis());
        int rc = 0;
        String current = "start";
        try {
            admin.start();
            for (String[] s : steps) {
                current = String.join(" ", s);
                switch (s[0]) {
                    case "topic": {
                        need(s, 4);
                        TopicConfig tc = new TopicConfig(s[1], Integer.parseInt(s[2]), Integer.parseInt(s[3]), 6);
                        admin.createAndUpdateTopicConfig(broker, tc);
                        System.out.printf("topic %s: %s read / %s write queues on %s%n", s[1], s[2], s[3], broker);
                        break;
                    }
                    case "user": {
                        need(s, 4);
                        try {
                            admin.createUser(broker, s[1], s[2], s[3]);
                            System.out.printf("user %s (%s): created%n", s[1], s[3]);
                        } catch (MQBrokerException e) {
                            if (!String.valueOf(e.getErrorMessage()).contains("existed")) {
                                throw e;
                            }
                            admin.updateUser(broker, s[1], s[2], s[3], "enable");
                            System.out.printf("user %s (%s): existed, password/type/status reset%n", s[1], s[3]);
                        }
                        break;
                    }
                    case "acl-clear": {
                        need(s, 2);
                        try {
                            admin.deleteAcl(broker, s[1], null);
                            System.out.printf("acl of %s: cleared%n", s[1]);
                        } catch (MQBrokerException e) {
                            if (!String.valueOf(e.getErrorMessage()).contains("not exist")) {
                                throw e;
                            }
                            System.out.printf("acl of %s: none%n", s[1]);
                        }
                        break;
                    }
                    case "acl": {
                        need(s, 5);
                        admin.createAcl(broker, s[1], Arrays.asList(s[2].split(",")),
                            Arrays.asList(s[3].split(",")), null, s[4]);
                        System.out.printf("acl of %s: %s on %s%n", s[1], s[3], s[2]);
                        break;
                    }
                    default:
                        throw new IllegalArgumentException("unknown step '" + s[0] + "'");
                }
            }
        } catch (Exception e) {
            String msg = e instanceof MQBrokerException
                ? "code " + ((MQBrokerException) e).getResponseCode() + ": " + ((MQBrokerException) e).getErrorMessage()
                : e.toString();
            System.err.println("AuthSetup: step '" + current + "' failed: " + msg);
            rc = 1;
        } finally {
            admin.shutdown();
        }
        System.exit(rc);
    }

    private static void need(String[] s, int n) {
        if (s.length != n) {
            throw new IllegalArgumentException("'" + s[0] + "' wants " + (n - 1) + " fields, got " + (s.length - 1));
        }
    }
}
