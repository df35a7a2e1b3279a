import { readFileSync } from 'node:fs';

/** Tencent's event 100 fields and their JSON types (tencent-compat.md §1), without sign and t. */
export const EVENT_100_FIELD_TYPES = JSON.parse(
  readFileSync(new URL('../../fixtures/event-100-fields.json', import.meta.url), 'utf8'),
) as Record<string, 'number' | 'string'>;
