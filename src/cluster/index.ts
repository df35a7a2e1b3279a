import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { MediaIndex, type MediaCatalog } from '../media/media-index.js';
import { FileDocumentStore, type DocumentStore } from '../shared/document-store.js';
import type { Logger } from '../shared/logger.js';
import { RedisChangeFeed, RedisDocumentStore } from './redis-documents.js';
import { RedisLink } from './redis-link.js';
import { RedisMediaIndex } from './redis-media-index.js';
import { ClusterCallbacks } from './redis-callbacks.js';
import { LocalStreamClaims, RedisStreamClaims, type StreamClaims } from './stream-claims.js';
import { LocalWorkRegistry, RedisWorkRegistry, type WorkRegistry } from './work-registry.js';
import { LocalHandover, RedisHandover, type RecordingHandover } from './handover.js';
import { LocalRecordingLedger, RedisRecordingLedger, type RecordingLedger } from './recording-ledger.js';

import { MemorySessionStore, type SessionStore } from '../console/sessions.js';
import { RedisSessionStore } from './redis-sessions.js';
import { RedisTimelineStore } from './redis-timeline.js';
import { RedisAuditStore } from './redis-audit.js';
import { FileAuditStore, type AuditStore } from '../audit/audit-store.js';
import { FileTimelineStore, type TimelineStore } from '../timeline/timeline-store.js';
export { claimedAdmission } from './stream-claims.js';
export type { ClusterCallbacks } from './redis-callbacks.js';
export type { StreamClaims, StreamHolder } from './stream-claims.js';
export type { NodeWork, WorkItem, WorkRegistry } from './work-registry.js';
export { WorkTracker } from './work-tracking.js';
export { NodeGate } from './node-gate.js';
export { sweepDeadWork } from './dead-work.js';
export type { RecordingHandover } from './handover.js';
export type { LedgerRecording, RecordingLedger } from './recording-ledger.js';

/** The books whose state one node keeps in dataDir/.state and a cluster keeps in Redis. */
export type BookName = 'templates' | 'tasks' | 'mixes';

/**
 * What the nodes of a cluster share, or on one node what it keeps to itself: the same interfaces either way, so
 * nothing downstream asks which it is.
 */
export interface SharedState {
  readonly mode: 'single' | 'cluster';
  readonly nodeId: string;
  /** How others reach this node (host or host:port); its host is the `node` of events 1 and 0. */
  readonly advertise: string;
  document(name: BookName): DocumentStore;
  /** The media index: dataDir/.index/media.sqlite, or the cluster's Redis. */
  openMediaIndex(): MediaCatalog;
  /** Each node's audit chain: files in dataDir/.audit, or the cluster's Redis (verified from any node). */
  readonly audit: AuditStore;
  /** Markers and IM events: files in dataDir/.timeline, or the cluster's Redis (a webhook may reach any node). */
  openTimeline(): TimelineStore;
  /** Console logins: in this process on one node, in Redis in a cluster (a login holds on every node). */
  readonly sessions: SessionStore;
  readonly claims: StreamClaims;
  /** Which node runs each kept mix session (one at a time, across the cluster). */
  readonly mixClaims: StreamClaims;
  /** Each node's open recordings and upload jobs, and whether the node lives. */
  readonly work: WorkRegistry;
  /** Interrupted recordings passed to the node where their stream publishes again. */
  readonly handover: RecordingHandover;
  /** Every open HLS recording's header and segments, for a node that continues or closes a dead node's. */
  readonly ledger: RecordingLedger;
  /** How often a node looks for dead nodes' work (its heartbeat); 0 on one node. */
  readonly sweepMs: number;
  /**
   * The cluster's callback queue: each node hands its callbacks in from its own outbox, and every node
   * delivers from it. Undefined on one node, whose outbox delivers its own.
   */
  readonly callbacks: ClusterCallbacks | undefined;
  /** Why the cluster's Redis cannot be used now (for /readyz); undefined while it can, or on one node. */
  problem(): string | undefined;
  close(): Promise<void>;
}

/** The node address for events 1 and 0: the RTMP listen host, or for a wildcard the first external IPv4. */
export function nodeAddress(listenHost: string): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') return listenHost;
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}

/** The host of an advertised address: `10.0.0.5:1935` → `10.0.0.5`, `[::1]:1935` → `::1`. */
export function advertisedHost(advertise: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(advertise);
  if (bracketed) return bracketed[1]!;
  const parts = advertise.split(':');
  return parts.length === 2 && /^\d+$/.test(parts[1]!) ? parts[0]! : advertise;
}

/** One node, nothing shared: the books are files in dataDir/.state. */
function singleNode(config: Config, dataDir: string): SharedState {
  const advertise = config.cluster.advertise ?? nodeAddress(config.rtmp.host);
  return {
    mode: 'single',
    nodeId: config.cluster.nodeId,
    advertise,
    document: (name) => new FileDocumentStore(join(dataDir, '.state', `${name}.json`)),
    openMediaIndex: () => MediaIndex.open(join(dataDir, '.index', 'media.sqlite')),
    openTimeline: () => new FileTimelineStore(join(dataDir, '.timeline')),
    audit: new FileAuditStore(join(dataDir, '.audit')),
    sessions: new MemorySessionStore(),
    claims: new LocalStreamClaims({ node: config.cluster.nodeId, advertise }),
    mixClaims: new LocalStreamClaims({ node: config.cluster.nodeId, advertise }),
    work: new LocalWorkRegistry({ node: config.cluster.nodeId, advertise }),
    handover: new LocalHandover(),
    ledger: new LocalRecordingLedger(),
    sweepMs: 0,
    callbacks: undefined,
    problem: () => undefined,
    close: async () => undefined,
  };
}

/**
 * The audit chains of the recorder a config describes, for `recorder audit` (no node is started): the files of
 * dataDir/.audit, or the cluster's Redis.
 */
export async function openAuditStore(
  config: Config,
  dataDir: string,
  logger: Logger,
): Promise<{ store: AuditStore; close(): Promise<void> }> {
  const { cluster } = config;
  if (!cluster.redis) {
    const store = new FileAuditStore(join(dataDir, '.audit'));
    return { store, close: () => store.close() };
  }
  const link = await RedisLink.connect({
    url: cluster.redis,
    ...(cluster.tlsCaFile ? { tlsCaFile: cluster.tlsCaFile } : {}),
    logger,
  });
  return { store: new RedisAuditStore(link.client, cluster.keyPrefix), close: () => link.close() };
}

/**
 * Opens what this node shares: one Redis connection for commands and one for change notes. Rejects when Redis
 * cannot be reached at start (a node that cannot read the rules must not record).
 */
export async function openSharedState(config: Config, dataDir: string, logger: Logger): Promise<SharedState> {
  const { cluster } = config;
  if (!cluster.redis) return singleNode(config, dataDir);
  const link = await RedisLink.connect({
    url: cluster.redis,
    ...(cluster.tlsCaFile ? { tlsCaFile: cluster.tlsCaFile } : {}),
    logger,
  });
  const feed = new RedisChangeFeed(link, cluster.nodeId, cluster.keyPrefix, logger);
  try {
    await feed.start();
  } catch (err) {
    await link.close();
    throw err;
  }
  const advertise = cluster.advertise ?? nodeAddress(config.rtmp.host);
  const claimOptions = {
    node: cluster.nodeId,
    advertise,
    keyPrefix: cluster.keyPrefix,
    leaseMs: cluster.leaseSeconds * 1000,
    heartbeatMs: cluster.heartbeatSeconds * 1000,
    logger,
  };
  const claims = new RedisStreamClaims(link, claimOptions);
  const mixClaims = new RedisStreamClaims(link, { ...claimOptions, kind: 'mix' });
  const work = new RedisWorkRegistry(link, claimOptions);
  const handover = new RedisHandover(link, { node: cluster.nodeId, keyPrefix: cluster.keyPrefix, logger });
  await handover.start();
  const ledger = new RedisRecordingLedger(link, {
    node: cluster.nodeId,
    keyPrefix: cluster.keyPrefix,
    logger,
  });
  const callbacks = new ClusterCallbacks(link, {
    nodeId: cluster.nodeId,
    keyPrefix: cluster.keyPrefix,
    key: config.callback.key,
    intervalMs: config.callback.retryIntervalSeconds * 1000,
    maxAttempts: config.callback.maxAttempts,
    timeoutMs: config.callback.timeoutSeconds * 1000,
    leaseMs: cluster.leaseSeconds * 1000,
    logger,
  });
  logger.info(
    { node: cluster.nodeId, advertise, keyPrefix: cluster.keyPrefix },
    'cluster mode: state on Redis',
  );
  return {
    mode: 'cluster',
    nodeId: cluster.nodeId,
    advertise,
    document: (name) => new RedisDocumentStore(feed, name, cluster.keyPrefix),
    openMediaIndex: () => new RedisMediaIndex(link.client, cluster.keyPrefix),
    openTimeline: () => new RedisTimelineStore(link.client, cluster.keyPrefix),
    audit: new RedisAuditStore(link.client, cluster.keyPrefix),
    sessions: new RedisSessionStore(link.client, cluster.keyPrefix),
    claims,
    mixClaims,
    work,
    handover,
    ledger,
    sweepMs: cluster.heartbeatSeconds * 1000,
    callbacks,
    problem: () => link.problem,
    async close() {
      await callbacks.close();
      await handover.close();
      await work.close();
      await mixClaims.close();
      await claims.close();
      await feed.close();
      await link.close();
    },
  };
}
