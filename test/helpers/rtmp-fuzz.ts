// Malformed RTMP inputs, deterministic from a seed, and a runner that sends one case over real sockets.
// Mutations aim at node-media-server 4.4.3's code paths: the handshake states, the chunk parser (basic header
// forms, message length, Set Chunk Size), the AMF0 command decoder and connect/createStream/publish handlers.
import net from 'node:net';

/** One fuzz case: the byte writes of each socket, the pause between writes, how long to read afterwards. */
export interface FuzzCase {
  index: number;
  kind: FuzzKind;
  /** Writes per socket; a flood opens several sockets at once. */
  sockets: Buffer[][];
  gapMs: number;
  readMs: number;
}

/** What the server did with one case. */
export interface FuzzOutcome {
  bytesIn: number;
  /** The server ended or reset the connection before we closed it. */
  closedByServer: boolean;
  error?: string;
}

export type FuzzKind =
  | 'random-bytes'
  | 'truncated-handshake'
  | 'garbage-chunks'
  | 'set-chunk-size'
  | 'chunk-headers'
  | 'bad-amf'
  | 'absurd-publish'
  | 'connect-flood'
  | 'slowloris';

const KINDS: readonly [FuzzKind, number][] = [
  ['random-bytes', 10],
  ['truncated-handshake', 10],
  ['garbage-chunks', 12],
  ['set-chunk-size', 10],
  ['chunk-headers', 16],
  ['bad-amf', 20],
  ['absurd-publish', 14],
  ['connect-flood', 6],
  ['slowloris', 2],
];

/** mulberry32: a small, fast, seedable PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rand {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

// ---- well-formed building blocks ----

/** AMF0 values: numbers, strings (long strings past 64 KiB), null, plain objects. */
export type Amf = number | string | null | boolean | { [key: string]: Amf };

/** AMF0-encodes one value. */
export function amf0(value: Amf): Buffer {
  if (value === null) return Buffer.from([0x05]);
  if (typeof value === 'boolean') return Buffer.from([0x01, value ? 1 : 0]);
  if (typeof value === 'number') {
    const b = Buffer.alloc(9);
    b[0] = 0x00;
    b.writeDoubleBE(value, 1);
    return b;
  }
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    if (text.length > 0xffff) {
      const h = Buffer.alloc(5);
      h[0] = 0x0c;
      h.writeUInt32BE(text.length, 1);
      return Buffer.concat([h, text]);
    }
    const h = Buffer.alloc(3);
    h[0] = 0x02;
    h.writeUInt16BE(text.length, 1);
    return Buffer.concat([h, text]);
  }
  const parts: Buffer[] = [Buffer.from([0x03])];
  for (const [k, v] of Object.entries(value)) parts.push(ustring(k), amf0(v));
  parts.push(Buffer.from([0x00, 0x00, 0x09]));
  return Buffer.concat(parts);
}

function ustring(s: string): Buffer {
  const text = Buffer.from(s, 'utf8');
  const h = Buffer.alloc(2);
  h.writeUInt16BE(text.length & 0xffff, 0);
  return Buffer.concat([h, text]);
}

/** The chunk basic header for a chunk stream id, in its 1-, 2- or 3-byte form. */
export function basicHeader(fmt: number, cid: number): Buffer {
  if (cid >= 64 + 256) return Buffer.from([(fmt << 6) | 1, (cid - 64) & 0xff, ((cid - 64) >> 8) & 0xff]);
  if (cid >= 64) return Buffer.from([(fmt << 6) | 0, cid - 64]);
  return Buffer.from([(fmt << 6) | cid]);
}

/** A whole message as type-0 then type-3 chunks; `length` may lie about the payload's size. */
export function chunks(
  cid: number,
  type: number,
  payload: Buffer,
  options: { chunkSize?: number; streamId?: number; length?: number; timestamp?: number } = {},
): Buffer {
  const chunkSize = options.chunkSize ?? 128;
  const header = Buffer.alloc(11);
  header.writeUIntBE(Math.min(options.timestamp ?? 0, 0xffffff), 0, 3);
  header.writeUIntBE(options.length ?? payload.length, 3, 3);
  header[6] = type & 0xff;
  header.writeUInt32LE(options.streamId ?? 0, 7);
  const parts = [basicHeader(0, cid), header];
  if ((options.timestamp ?? 0) >= 0xffffff) {
    const ext = Buffer.alloc(4);
    ext.writeUInt32BE(options.timestamp! >>> 0, 0);
    parts.push(ext);
  }
  for (let at = 0; at < payload.length; at += chunkSize) {
    if (at > 0) parts.push(basicHeader(3, cid));
    parts.push(payload.subarray(at, at + chunkSize));
  }
  return Buffer.concat(parts);
}

/** C0 (version 3) + C1 (time, zero, random) for the simple handshake. */
export function c0c1(rand?: Rand): Buffer {
  const c1 = rand ? rand.bytes(1536) : Buffer.alloc(1536, 0x5a);
  c1.fill(0, 0, 8);
  return Buffer.concat([Buffer.from([0x03]), c1]);
}

/** C2: the server's S1 echoed; NMS does not check it. */
export const C2 = Buffer.alloc(1536, 0x2c);

/** A valid handshake (C0+C1, C2) as one write. */
export function handshake(): Buffer {
  return Buffer.concat([c0c1(), C2]);
}

/** A command message on chunk stream 3. */
export function command(name: string, transId: number, args: Amf[], chunkSize = 128): Buffer {
  return chunks(3, 20, Buffer.concat([amf0(name), amf0(transId), ...args.map(amf0)]), { chunkSize });
}

/** connect with app and tcUrl as ffmpeg sends them. */
export function connect(app = 'live', port = 1935, chunkSize = 128): Buffer {
  const cmdObj = {
    app,
    type: 'nonprivate',
    flashVer: 'FMLE/3.0 (compatible; fuzz)',
    tcUrl: `rtmp://127.0.0.1:${port}/${app}`,
  };
  return command('connect', 1, [cmdObj], chunkSize);
}

/** createStream, then publish of `name` on message stream 1. */
export function publishCmd(name: Amf, chunkSize = 128): Buffer {
  const publish = Buffer.concat([amf0('publish'), amf0(3), amf0(null), amf0(name), amf0('live')]);
  return Buffer.concat([
    command('createStream', 2, [null], chunkSize),
    chunks(8, 20, publish, { streamId: 1, chunkSize }),
  ]);
}

// ---- mutations ----

function flip(rand: Rand, buf: Buffer, count: number): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < count && out.length > 0; i++) out[rand.int(out.length)] = rand.int(256);
  return out;
}

function truncate(rand: Rand, buf: Buffer): Buffer {
  return buf.subarray(0, rand.int(buf.length));
}

const ABSURD_LENGTHS = [0, 1, 0x7f, 0x80, 0x81, 0xffff, 0x10000, 0x7fffff, 0xfffffe, 0xffffff];
const TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 18, 19, 20, 22, 23, 0x7f, 0xff];
const CHUNK_SIZES = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 0x7fff, 0x10000];

/** A chunk stream id of each basic-header form: 1 byte (2..63), 2 bytes (64..319), 3 bytes (320..65599), and 0/1. */
function anyCid(rand: Rand): number {
  switch (rand.int(4)) {
    case 0:
      return 2 + rand.int(62);
    case 1:
      return 64 + rand.int(256);
    case 2:
      return 320 + rand.int(65599 - 320 + 1);
    default:
      return rand.int(2);
  }
}

/** Bad AMF0: truncated strings, unknown markers, deep nesting, huge counts, wrong types. */
function badAmf(rand: Rand): Buffer {
  switch (rand.int(12)) {
    case 0: {
      const s = amf0('x'.repeat(40));
      return s.subarray(0, 3 + rand.int(20)); // length says 40, fewer bytes follow
    }
    case 1:
      return Buffer.from([0x02, 0xff, 0xff, 0x61]); // string of 65535 with 1 byte
    case 2:
      return Buffer.from([rand.pick([0x04, 0x09, 0x0d, 0x0e, 0x11, 0x20, 0xff])]); // unknown markers
    case 3:
      return Buffer.concat([
        Buffer.from([0x03]),
        Buffer.alloc(3 * (100 + rand.int(5000)), 0).fill(Buffer.from([0x00, 0x01, 0x61])),
        Buffer.from([0x03]),
      ]); // objects nested by key 'a': ever deeper
    case 4: {
      const depth = 1000 + rand.int(20000);
      const open = Buffer.alloc(depth * 4);
      for (let i = 0; i < depth; i++) open.set([0x00, 0x01, 0x6b, 0x03], i * 4); // key 'k' -> object
      return Buffer.concat([Buffer.from([0x03]), open]);
    }
    case 5: {
      const b = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x05, 0x05, 0x05]); // strict array of 2^32-1
      return b;
    }
    case 6:
      return Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x61, 0x05]); // ECMA array, huge count
    case 7:
      return Buffer.from([0x0c, 0xff, 0xff, 0xff, 0xff, 0x61, 0x62]); // long string of 4 GiB
    case 8:
      return Buffer.from([0x00, 0x01, 0x02]); // truncated number
    case 9:
      return Buffer.from([0x0b, 0x00]); // truncated date
    case 10:
      return Buffer.from([0x10, 0x00, 0x02, 0x6f, 0x62, 0x00, 0x01, 0x61, 0x07, 0xff]); // typed object, truncated ref
    default:
      return rand.bytes(1 + rand.int(64));
  }
}

/** A connect's command object with a bad field (tcUrl missing, not a URL, not a string; app not a string). */
function badConnectObject(rand: Rand, port: number): Amf {
  return rand.pick<Amf>([
    { app: 'live' },
    { app: 'live', tcUrl: 'not a url' },
    { app: 'live', tcUrl: 42 },
    { app: 7, tcUrl: `rtmp://127.0.0.1:${port}/live` },
    { app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live`, objectEncoding: 3 },
    { tcUrl: `rtmp://[::1/live` },
    null,
    'connect',
  ]);
}

/** Publish names the recorder must refuse (plus `duplicateOf`, a stream already being published). */
function absurdName(rand: Rand, duplicateOf?: string): Amf {
  const names: Amf[] = [
    '../x',
    '..',
    '.hidden',
    'a/../../etc/passwd',
    'x'.repeat(64 * 1024),
    'y'.repeat(129),
    'nul\0byte',
    '\0',
    '',
    '?',
    '?userdefinerecordid=../../x',
    'ok?userdefinerecordid=%00',
    'space name',
    'émoji🎥',
    42,
    null,
    { name: 'obj' },
  ];
  if (duplicateOf) names.push(duplicateOf);
  return rand.pick(names);
}

/** Options for the generator. */
export interface FuzzOptions {
  seed: number;
  /** The recorder's RTMP port, written into tcUrls. */
  port?: number;
  /** A stream already being published: a second publish of it must be refused, not disturb it. */
  duplicateOf?: string;
  /** Pause between the bytes of a slowloris case; shorter in tests. */
  slowGapMs?: number;
  /** Bytes a slowloris case sends. */
  slowBytes?: number;
  /** Sockets per connect flood. */
  floodSockets?: number;
}

/** The i-th case of a seeded run; the same seed and index give the same case. */
export function fuzzCase(index: number, options: FuzzOptions): FuzzCase {
  const rand = new Rand((options.seed * 0x9e3779b1 + index) >>> 0);
  const port = options.port ?? 1935;
  const total = KINDS.reduce((s, [, w]) => s + w, 0);
  let roll = rand.int(total);
  let kind: FuzzKind = 'random-bytes';
  for (const [k, w] of KINDS) {
    if (roll < w) {
      kind = k;
      break;
    }
    roll -= w;
  }
  const one = (writes: Buffer[], gapMs = 0, readMs = 30): FuzzCase => ({
    index,
    kind,
    sockets: [writes],
    gapMs,
    readMs,
  });
  const hs = handshake();
  switch (kind) {
    case 'random-bytes':
      return one([rand.bytes(1 + rand.int(rand.next() < 0.5 ? 64 : 8192))]);
    case 'truncated-handshake': {
      const full = c0c1(rand);
      const variant = rand.int(5);
      if (variant === 0) return one([Buffer.from([0x03])]); // C0 only
      if (variant === 1) return one([full.subarray(0, 1 + rand.int(1536))]); // C0 + part of C1
      if (variant === 2)
        return one([Buffer.concat([Buffer.from([rand.pick([0, 6, 0xff])]), full.subarray(1)])]);
      if (variant === 3) return one([full, C2.subarray(0, rand.int(1536))]); // C2 cut short
      return one([full.subarray(0, 700), full.subarray(700)], 5); // split across writes, then nothing
    }
    case 'garbage-chunks':
      return one([hs, ...(rand.next() < 0.5 ? [connect('live', port)] : []), rand.bytes(1 + rand.int(4096))]);
    case 'set-chunk-size': {
      const size = Buffer.alloc(4);
      const chunkSize = rand.pick(CHUNK_SIZES);
      size.writeUInt32BE(chunkSize, 0);
      // Commands chunked at the announced size when it is valid; the name is one admission refuses.
      const ours = chunkSize >= 1 && chunkSize <= 0x7fffffff ? chunkSize : 128;
      const after =
        rand.next() < 0.5
          ? Buffer.concat([connect('live', port, ours), publishCmd('fuzz after chunk size', ours)])
          : rand.bytes(rand.int(2048));
      return one([hs, chunks(2, 1, size), after]);
    }
    case 'chunk-headers': {
      const writes = [hs];
      const n = 1 + rand.int(8);
      for (let i = 0; i < n; i++) {
        const cid = anyCid(rand);
        const fmt = rand.int(4);
        const body = rand.bytes(rand.int(300));
        if (fmt === 0) {
          writes.push(
            chunks(cid, rand.pick(TYPES), body, {
              length: rand.pick(ABSURD_LENGTHS),
              streamId: rand.pick([0, 1, 0xffffffff]),
              timestamp: rand.pick([0, 1000, 0xffffff, 0xffffffff]),
            }),
          );
        } else {
          // Type 1/2/3 headers on a chunk stream never opened by a type 0.
          const header = Buffer.alloc([7, 3, 0][fmt - 1]!);
          if (fmt === 1) {
            header.writeUIntBE(rand.int(0xffffff), 0, 3);
            header.writeUIntBE(rand.pick(ABSURD_LENGTHS), 3, 3);
            header[6] = rand.pick(TYPES);
          }
          writes.push(Buffer.concat([basicHeader(fmt, cid), header, body]));
        }
      }
      return one(writes);
    }
    case 'bad-amf': {
      const target = rand.int(4);
      let message: Buffer;
      if (target === 0) {
        message = chunks(3, 20, Buffer.concat([amf0('connect'), amf0(1), badAmf(rand)]));
      } else if (target === 1) {
        message = command('connect', 1, [badConnectObject(rand, port)]);
      } else if (target === 2) {
        message = Buffer.concat([
          connect('live', port),
          chunks(3, 20, Buffer.concat([amf0('createStream'), badAmf(rand)])),
        ]);
      } else {
        message = Buffer.concat([
          connect('live', port),
          chunks(
            8,
            rand.pick([20, 17]),
            Buffer.concat([amf0('publish'), amf0(3), amf0(null), badAmf(rand)]),
            { streamId: 1 },
          ),
        ]);
      }
      if (rand.next() < 0.3) message = flip(rand, message, 1 + rand.int(4));
      if (rand.next() < 0.2) message = truncate(rand, message);
      return one([hs, message]);
    }
    case 'absurd-publish': {
      const name = absurdName(rand, options.duplicateOf);
      const app = rand.pick(['live', 'live?x=1', '../live', '', 'a'.repeat(300)]);
      const pub = publishCmd(name);
      return one([hs, connect(app, port), pub, ...(rand.next() < 0.1 ? [pub] : [])]);
    }
    case 'connect-flood': {
      const count = options.floodSockets ?? 20;
      const sockets: Buffer[][] = [];
      for (let i = 0; i < count; i++) {
        const stage = rand.int(4);
        sockets.push(
          stage === 0 ? [] : stage === 1 ? [c0c1()] : stage === 2 ? [hs] : [hs, connect('live', port)],
        );
      }
      return { index, kind, sockets, gapMs: 0, readMs: rand.int(20) };
    }
    case 'slowloris': {
      const all = Buffer.concat([hs, connect('live', port)]);
      const start = rand.pick([0, 1537, all.length - 40]);
      const count = options.slowBytes ?? 10;
      const writes: Buffer[] = [];
      if (start > 0) writes.push(all.subarray(0, start));
      for (let i = 0; i < count && start + i < all.length; i++)
        writes.push(all.subarray(start + i, start + i + 1));
      return one(writes, options.slowGapMs ?? 1000, 50);
    }
  }
}

/** Sends one socket's writes, reads for readMs, then closes; resolves with what happened. */
function runSocket(port: number, writes: Buffer[], gapMs: number, readMs: number): Promise<FuzzOutcome> {
  return new Promise((resolve) => {
    const outcome: FuzzOutcome = { bytesIn: 0, closedByServer: false };
    const socket = net.connect({ port, host: '127.0.0.1' });
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      resolve(outcome);
    };
    socket.on('data', (d: Buffer) => (outcome.bytesIn += d.length));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after our bytes is the server closing; a refused connect is a failure.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') outcome.closedByServer = true;
      else outcome.error = err.code ?? err.message;
      finish();
    });
    socket.on('end', () => {
      outcome.closedByServer = true;
      finish();
    });
    socket.on('close', finish);
    socket.on('connect', () => {
      let at = 0;
      const step = () => {
        if (done) return;
        if (at < writes.length) {
          socket.write(writes[at++]!);
          if (gapMs > 0) timers.push(setTimeout(step, gapMs));
          else step();
          return;
        }
        timers.push(setTimeout(finish, readMs));
      };
      step();
    });
  });
}

/** Runs one case: every socket of it at once. */
export async function runCase(port: number, c: FuzzCase): Promise<FuzzOutcome[]> {
  return Promise.all(c.sockets.map((writes) => runSocket(port, writes, c.gapMs, c.readMs)));
}

/** Runs cases [0, count) with at most `concurrency` in flight; reports each outcome. */
export async function runFuzz(
  port: number,
  count: number,
  options: FuzzOptions & { concurrency?: number; onCase?: (c: FuzzCase, outcomes: FuzzOutcome[]) => void },
): Promise<{ cases: number; sockets: number; errors: { index: number; kind: FuzzKind; error: string }[] }> {
  let next = 0;
  let sockets = 0;
  const errors: { index: number; kind: FuzzKind; error: string }[] = [];
  const worker = async () => {
    while (next < count) {
      const c = fuzzCase(next++, { port, ...options });
      const outcomes = await runCase(port, c);
      sockets += outcomes.length;
      for (const o of outcomes) if (o.error) errors.push({ index: c.index, kind: c.kind, error: o.error });
      options.onCase?.(c, outcomes);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 20 }, worker));
  return { cases: count, sockets, errors };
}
