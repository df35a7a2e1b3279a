import { afterPublish, type AdmitDecision, type PublishRequest } from '../ingest/index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import type { RedisLink } from './redis-link.js';

/** Who publishes a stream: the node, how to reach it, since when (Unix ms). */
export interface StreamHolder {
  node: string;
  advertise: string;
  since: number;
}

export type ClaimResult = { ok: true } | { ok: false; holder: StreamHolder };

export interface StreamClaimsEvents {
  /** Another node holds a stream this node thought it held (its lease lapsed while Redis was away). */
  lost: [key: string, holder: StreamHolder];
}

/**
 * One publisher per stream across the nodes: a node claims a stream before it records a push of it, and holds
 * the claim while the push lasts. Claims this node holds are counted, so a second claim by the same node (a
 * duplicate publisher it will refuse itself) does not end the first one's.
 */
export interface StreamClaims extends TypedEmitter<StreamClaimsEvents> {
  /** Whether claims are only this process's (one node): admission needs no round trip then. */
  readonly local: boolean;
  claim(key: string): Promise<ClaimResult>;
  release(key: string): Promise<void>;
  /** Who holds the key, if anyone. */
  holderOf(key: string): Promise<StreamHolder | undefined>;
  /** Every stream claimed in the cluster, and by whom. */
  holders(): Promise<Map<string, StreamHolder>>;
  close(): Promise<void>;
}

/** One node: every claim is granted (the recording manager refuses a duplicate publisher itself). */
export class LocalStreamClaims extends TypedEmitter<StreamClaimsEvents> implements StreamClaims {
  readonly local = true;
  readonly #held = new Map<string, { count: number; since: number }>();

  constructor(readonly self: { node: string; advertise: string }) {
    super();
  }

  async claim(key: string): Promise<ClaimResult> {
    const held = this.#held.get(key);
    this.#held.set(key, { count: (held?.count ?? 0) + 1, since: held?.since ?? Date.now() });
    return { ok: true };
  }

  async release(key: string): Promise<void> {
    const held = this.#held.get(key);
    if (held && --held.count <= 0) this.#held.delete(key);
  }

  async holderOf(key: string): Promise<StreamHolder | undefined> {
    const held = this.#held.get(key);
    return held ? { ...this.self, since: held.since } : undefined;
  }

  async holders(): Promise<Map<string, StreamHolder>> {
    return new Map([...this.#held].map(([key, h]) => [key, { ...this.self, since: h.since }]));
  }

  async close(): Promise<void> {
    this.#held.clear();
  }
}

/** Claims the key if free or already this node's (the lease renewed); else returns the holder's value. */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v then
  local ok, held = pcall(cjson.decode, v)
  if not ok or held.node ~= ARGV[1] then return v end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return false
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return false
`;

/** Renews the lease only while the key is still this node's; returns the holder's value when it is not. */
const RENEW = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return false
end
local ok, held = pcall(cjson.decode, v)
if ok and held.node == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return false
end
return v
`;

/** Deletes the key only while it is this node's. */
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, held = pcall(cjson.decode, v)
if ok and held.node == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface RedisStreamClaimsOptions {
  /** What is claimed, a part of each key: `stream` (a push) or `mix` (a mix session's runner). */
  kind?: string;
  node: string;
  advertise: string;
  keyPrefix: string;
  leaseMs: number;
  heartbeatMs: number;
  logger: Logger;
}

function parseHolder(value: string): StreamHolder {
  try {
    const parsed = JSON.parse(value) as Partial<StreamHolder>;
    return {
      node: String(parsed.node),
      advertise: String(parsed.advertise ?? ''),
      since: Number(parsed.since),
    };
  } catch {
    return { node: 'unknown', advertise: '', since: 0 };
  }
}

/**
 * Claims in Redis: a key per stream holding its node, with a lease this node renews every heartbeat. A node that
 * dies stops renewing, and its streams are free once the lease lapses. When Redis comes back after an outage,
 * this node renews every claim it holds at once.
 */
export class RedisStreamClaims extends TypedEmitter<StreamClaimsEvents> implements StreamClaims {
  readonly local = false;
  readonly #o: RedisStreamClaimsOptions;
  readonly #link: RedisLink;
  readonly #log: Logger;
  readonly #held = new Map<string, { count: number; value: string }>();
  readonly #timer: NodeJS.Timeout;

  constructor(link: RedisLink, options: RedisStreamClaimsOptions) {
    super();
    this.#link = link;
    this.#o = options;
    this.#log = options.logger.child({ component: 'stream-claims' });
    this.#timer = setInterval(() => void this.#renewAll(), options.heartbeatMs);
    this.#timer.unref();
    link.on('up', () => void this.#renewAll());
  }

  #key(key: string): string {
    return `${this.#o.keyPrefix}${this.#o.kind ?? 'stream'}:${key}`;
  }

  async claim(key: string): Promise<ClaimResult> {
    const held = this.#held.get(key);
    const value =
      held?.value ?? JSON.stringify({ node: this.#o.node, advertise: this.#o.advertise, since: Date.now() });
    const other = (await this.#link.client.eval(
      CLAIM,
      1,
      this.#key(key),
      this.#o.node,
      value,
      this.#o.leaseMs,
    )) as string | null;
    if (other) return { ok: false, holder: parseHolder(other) };
    this.#held.set(key, { count: (held?.count ?? 0) + 1, value });
    return { ok: true };
  }

  async release(key: string): Promise<void> {
    const held = this.#held.get(key);
    if (!held) return;
    if (--held.count > 0) return;
    this.#held.delete(key);
    try {
      await this.#link.client.eval(RELEASE, 1, this.#key(key), this.#o.node);
    } catch (err) {
      // Its lease lapses by itself.
      this.#log.warn({ stream: key, err: errorMessage(err) }, 'stream claim not released');
    }
  }

  async holderOf(key: string): Promise<StreamHolder | undefined> {
    const value = await this.#link.client.get(this.#key(key));
    return value ? parseHolder(value) : undefined;
  }

  async holders(): Promise<Map<string, StreamHolder>> {
    const out = new Map<string, StreamHolder>();
    const prefix = this.#key('');
    let cursor = '0';
    do {
      const [next, keys] = await this.#link.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      const values = keys.length ? await this.#link.client.mget(...keys) : [];
      keys.forEach((k, i) => {
        const value = values[i];
        if (value) out.set(k.slice(prefix.length), parseHolder(value));
      });
    } while (cursor !== '0');
    return out;
  }

  async #renewAll(): Promise<void> {
    if (this.#link.state !== 'ready') return;
    for (const [key, held] of [...this.#held]) {
      try {
        const other = (await this.#link.client.eval(
          RENEW,
          1,
          this.#key(key),
          this.#o.node,
          held.value,
          this.#o.leaseMs,
        )) as string | null;
        if (other) {
          const holder = parseHolder(other);
          this.#log.error({ stream: key, holder: holder.node }, 'stream claim lost to another node');
          this.#held.delete(key);
          this.emit('lost', key, holder);
        }
      } catch (err) {
        this.#log.warn({ stream: key, err: errorMessage(err) }, 'stream claim not renewed');
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const key of [...this.#held.keys()]) {
      this.#held.set(key, { ...this.#held.get(key)!, count: 1 });
      await this.release(key);
    }
  }
}

/**
 * Admission with a claim on the stream: a push is admitted (events 1 and 0, its recording) only once this node
 * holds the stream, and the claim ends with the push. With Redis down no claim can be made, so a new publish is
 * refused with the reason, the safe default; a reconnect to the interrupted recording this node holds goes on,
 * since no other node can hold that stream's recording.
 */
export function claimedAdmission(o: {
  claims: StreamClaims;
  admit: (request: PublishRequest) => AdmitDecision;
  /** Whether this node holds an interrupted recording of the stream (a resume). */
  resumesHere: (request: PublishRequest) => boolean;
  /** Runs once the stream is claimed, before `admit`: a resume of another node's recording is fetched here. */
  prepare?: (request: PublishRequest) => Promise<void>;
  logger: Logger;
}): (request: PublishRequest) => AdmitDecision | Promise<AdmitDecision> {
  const { claims, admit } = o;
  if (claims.local) return admit;
  return async (request) => {
    const key = `${request.app}/${request.stream}`;
    let claimed: ClaimResult;
    try {
      claimed = await claims.claim(key);
    } catch (err) {
      if (o.resumesHere(request)) {
        o.logger.warn(
          { stream: key, err: errorMessage(err) },
          'no claim (Redis is down): resumed on this node',
        );
        return admit(request);
      }
      return { refuse: `cannot claim ${key} across the cluster (Redis: ${errorMessage(err)})` };
    }
    if (!claimed.ok) {
      return { refuse: `${key} is already published on node ${claimed.holder.node}` };
    }
    if (o.prepare && !o.resumesHere(request)) {
      try {
        await o.prepare(request);
      } catch (err) {
        o.logger.warn({ stream: key, err: errorMessage(err) }, 'no handover: the publish starts a recording');
      }
    }
    return afterPublish(admit(request), () => void claims.release(key));
  };
}
