// A cluster node's callback delivery alone, in a process of its own, so a test can kill it with SIGKILL
// mid-delivery: `node --import tsx test/helpers/callback-node.ts <redis url> <key prefix> <lease ms>`.
// Prints "ready" once its worker runs.
import { ClusterCallbacks } from '../../src/cluster/redis-callbacks.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { silentLogger } from '../../src/shared/logger.js';

const [url, keyPrefix, lease] = process.argv.slice(2);
const logger = silentLogger();
const link = await RedisLink.connect({ url: url!, logger });
const callbacks = new ClusterCallbacks(link, {
  nodeId: 'doomed',
  keyPrefix: keyPrefix!,
  key: 'cluster-callback-key',
  intervalMs: 200,
  maxAttempts: 50,
  timeoutMs: 30_000,
  leaseMs: Number(lease),
  logger,
});
callbacks.start();
process.stdout.write('ready\n');
