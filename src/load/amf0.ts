// The AMF0 subset an RTMP publisher needs: encode its commands, decode the server's answers.

/** AMF0 values as used in RTMP commands. */
export type Amf0 = number | string | boolean | null | undefined | Amf0[] | { [key: string]: Amf0 };

function utf8(s: string): Buffer {
  const text = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(text.length, 0);
  return Buffer.concat([len, text]);
}

/** AMF0-encodes values back to back. */
export function encodeAmf0(...values: Amf0[]): Buffer {
  const parts: Buffer[] = [];
  const put = (v: Amf0): void => {
    if (v === null) parts.push(Buffer.from([0x05]));
    else if (v === undefined) parts.push(Buffer.from([0x06]));
    else if (typeof v === 'boolean') parts.push(Buffer.from([0x01, v ? 1 : 0]));
    else if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = 0x00;
      b.writeDoubleBE(v, 1);
      parts.push(b);
    } else if (typeof v === 'string') parts.push(Buffer.from([0x02]), utf8(v));
    else if (Array.isArray(v)) {
      const h = Buffer.alloc(5);
      h[0] = 0x0a;
      h.writeUInt32BE(v.length, 1);
      parts.push(h);
      v.forEach(put);
    } else {
      parts.push(Buffer.from([0x03]));
      for (const [k, item] of Object.entries(v)) {
        parts.push(utf8(k));
        put(item);
      }
      parts.push(Buffer.from([0x00, 0x00, 0x09]));
    }
  };
  values.forEach(put);
  return Buffer.concat(parts);
}

/** Decodes AMF0 values back to back; throws on a type it does not know or a truncated buffer. */
export function decodeAmf0(buf: Buffer): Amf0[] {
  let at = 0;
  const need = (n: number): void => {
    if (at + n > buf.length) throw new Error('truncated AMF0');
  };
  const str = (long = false): string => {
    need(long ? 4 : 2);
    const len = long ? buf.readUInt32BE(at) : buf.readUInt16BE(at);
    at += long ? 4 : 2;
    need(len);
    const s = buf.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  const props = (): { [key: string]: Amf0 } => {
    const out: { [key: string]: Amf0 } = {};
    for (;;) {
      const key = str();
      need(1);
      if (key === '' && buf[at] === 0x09) {
        at++;
        return out;
      }
      out[key] = value();
    }
  };
  const value = (): Amf0 => {
    need(1);
    const marker = buf[at++];
    switch (marker) {
      case 0x00: {
        need(8);
        const n = buf.readDoubleBE(at);
        at += 8;
        return n;
      }
      case 0x01:
        need(1);
        return buf[at++] !== 0;
      case 0x02:
        return str();
      case 0x03:
        return props();
      case 0x05:
        return null;
      case 0x06:
        return undefined;
      case 0x08:
        need(4);
        at += 4; // ECMA array: a count, then properties like an object
        return props();
      case 0x0a: {
        need(4);
        const n = buf.readUInt32BE(at);
        at += 4;
        return Array.from({ length: n }, value);
      }
      case 0x0b:
        need(10);
        at += 10;
        return null; // a date: not needed by a publisher
      case 0x0c:
        return str(true);
      default:
        throw new Error(`AMF0 marker ${marker} not supported`);
    }
  };
  const out: Amf0[] = [];
  while (at < buf.length) out.push(value());
  return out;
}
