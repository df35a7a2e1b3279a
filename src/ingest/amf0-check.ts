// A strict AMF0 well-formedness check. NMS's decoder clamps a string whose length overruns the message to the
// bytes present, so `publish` with a 4 GiB string "ab" would be taken as stream "ab"; commands are checked first.

const MAX_DEPTH = 16;

/** The offset after the complete AMF0 value at `at`, or -1 if it is unknown, truncated or nested too deep. */
function skipValue(buf: Buffer, at: number, depth: number): number {
  if (at >= buf.length || depth > MAX_DEPTH) return -1;
  const marker = buf[at]!;
  const body = at + 1;
  const fits = (end: number) => (end <= buf.length ? end : -1);
  switch (marker) {
    case 0x00: // number
      return fits(body + 8);
    case 0x01: // boolean
      return fits(body + 1);
    case 0x02: // string
      return body + 2 <= buf.length ? fits(body + 2 + buf.readUInt16BE(body)) : -1;
    case 0x03: // object
      return skipProperties(buf, body, depth);
    case 0x05: // null
    case 0x06: // undefined
      return body;
    case 0x07: // reference
      return fits(body + 2);
    case 0x08: // ECMA array: a count NMS ignores, then properties
      return body + 4 <= buf.length ? skipProperties(buf, body + 4, depth) : -1;
    case 0x0a: {
      // strict array
      if (body + 4 > buf.length) return -1;
      let next = body + 4;
      for (let count = buf.readUInt32BE(body); count > 0; count--) {
        next = skipValue(buf, next, depth + 1);
        if (next < 0) return -1;
      }
      return next;
    }
    case 0x0b: // date: 8-byte time, 2-byte zone
      return fits(body + 10);
    case 0x0c: // long string
      return body + 4 <= buf.length ? fits(body + 4 + buf.readUInt32BE(body)) : -1;
    case 0x10: // typed object: class name, then properties
      return body + 2 <= buf.length ? skipProperties(buf, body + 2 + buf.readUInt16BE(body), depth) : -1;
    default:
      return -1;
  }
}

/** Skips `key value` pairs up to the empty key and object-end marker. */
function skipProperties(buf: Buffer, at: number, depth: number): number {
  let next = at;
  for (;;) {
    if (next + 2 > buf.length) return -1;
    const keyLength = buf.readUInt16BE(next);
    next += 2 + keyLength;
    if (keyLength === 0) return next < buf.length && buf[next] === 0x09 ? next + 1 : -1;
    next = skipValue(buf, next, depth + 1);
    if (next < 0) return -1;
  }
}

/** True if `buf` is a sequence of complete, known AMF0 values nested at most 16 deep. */
export function isWellFormedAmf0(buf: Buffer): boolean {
  let at = 0;
  while (at < buf.length) {
    at = skipValue(buf, at, 0);
    if (at < 0) return false;
  }
  return true;
}
