import { z } from 'zod';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { configSchema } from './schema.js';

/**
 * Environment overrides for containers: `RECORDER_` + the key path with segments joined by `__`,
 * matched case-insensitively, e.g. RECORDER_STORAGE__ENDPOINT sets storage.endPoint.
 * The known keys come from the config schema itself, so they cannot drift from it.
 */
export const ENV_PREFIX = 'RECORDER_';
const SEPARATOR = '__';

/** One variable that names a config key, its key path and its value coerced to the key's type. */
export interface EnvOverride {
  name: string;
  path: string[];
  value: unknown;
}

interface KeyNode {
  /** The key's real name as the schema spells it. */
  key: string;
  /** JSON Schema types the key accepts in any branch of any union. */
  types: Set<string>;
  /** Sub-keys by lower-case name; empty for a leaf. */
  children: Map<string, KeyNode>;
  /** Element type of an array key. */
  items: KeyNode | undefined;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function newNode(key: string): KeyNode {
  return { key, types: new Set(), children: new Map(), items: undefined };
}

function resolveRef(root: JsonObject, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isObject(node)) return undefined;
    node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/** Merges a JSON Schema into `node`: every branch of oneOf/anyOf/allOf adds its keys and types. */
function collect(schema: unknown, node: KeyNode, root: JsonObject, expanding: ReadonlySet<string>): void {
  if (!isObject(schema)) return;
  if (typeof schema.$ref === 'string' && !expanding.has(schema.$ref)) {
    collect(resolveRef(root, schema.$ref), node, root, new Set([...expanding, schema.$ref]));
  }
  for (const combinator of ['oneOf', 'anyOf', 'allOf']) {
    const branches = schema[combinator];
    if (Array.isArray(branches)) for (const branch of branches) collect(branch, node, root, expanding);
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  for (const type of types) if (typeof type === 'string') node.types.add(type);
  const literals = 'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : [];
  for (const literal of literals) node.types.add(typeof literal);
  if (isObject(schema.properties)) {
    node.types.add('object');
    for (const [key, sub] of Object.entries(schema.properties)) {
      const folded = key.toLowerCase();
      let child = node.children.get(folded);
      if (!child) node.children.set(folded, (child = newNode(key)));
      else if (child.key !== key) {
        throw new Error(
          `config keys ${child.key} and ${key} differ only in case: no environment name for them`,
        );
      }
      collect(sub, child, root, expanding);
    }
  }
  if (schema.items !== undefined) {
    node.items ??= newNode('[]');
    collect(schema.items, node.items, root, expanding);
  }
}

let tree: KeyNode | undefined;

function keyTree(): KeyNode {
  if (!tree) {
    // Same JSON Schema as configJsonSchema() in load.ts.
    const schema = z.toJSONSchema(configSchema, { io: 'input' }) as JsonObject;
    tree = newNode('');
    collect(schema, tree, schema, new Set());
  }
  return tree;
}

function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((key) => key.toUpperCase()).join(SEPARATOR);
}

function leaves(node: KeyNode, path: string[] = []): { path: string[]; node: KeyNode }[] {
  if (node.children.size === 0) return path.length ? [{ path, node }] : [];
  return [...node.children.values()].flatMap((child) => leaves(child, [...path, child.key]));
}

/** Every valid variable name, one per config key, in schema order. */
export function envKeys(): string[] {
  return leaves(keyTree()).map((leaf) => envName(leaf.path));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The valid names closest to a wrong one: same last word first, then by edit distance. */
function nearestNames(name: string, count = 3): string[] {
  const upper = name.toUpperCase();
  const lastWord = upper.split('_').filter(Boolean).pop() ?? '';
  return envKeys()
    .map((valid) => ({
      valid,
      sameLeaf: valid.endsWith(SEPARATOR + lastWord) || valid === ENV_PREFIX + lastWord,
      distance: editDistance(upper, valid),
    }))
    .sort((a, b) => Number(b.sameLeaf) - Number(a.sameLeaf) || a.distance - b.distance)
    .slice(0, count)
    .map((entry) => entry.valid);
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * Converts a variable's text to the key's type. Text that does not fit is passed on unchanged, so
 * validation reports it with the key's allowed range.
 */
function coerce(text: string, node: KeyNode): unknown {
  const trimmed = text.trim();
  if ((node.types.has('integer') || node.types.has('number')) && NUMBER.test(trimmed)) return Number(trimmed);
  if (node.types.has('boolean') && /^(?:true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === 'true';
  if (node.types.has('array')) {
    if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown;
    const items = trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim());
    return node.items ? items.map((item) => coerce(item, node.items!)) : items;
  }
  if (node.types.has('object') && trimmed.startsWith('{')) return JSON.parse(trimmed) as unknown;
  return text;
}

/**
 * The RECORDER_* variables of `env`, each resolved to a config key path with its value coerced.
 * Throws ConfigError for a RECORDER_* name that is no config key, names a section rather than a
 * key, or sets a key another variable already sets.
 */
export function envOverrides(env: NodeJS.ProcessEnv): EnvOverride[] {
  const root = keyTree();
  const overrides: EnvOverride[] = [];
  const problems: string[] = [];
  const setBy = new Map<string, string>();
  for (const [name, text] of Object.entries(env)) {
    if (text === undefined || !name.toUpperCase().startsWith(ENV_PREFIX)) continue;
    let node: KeyNode | undefined = root;
    const path: string[] = [];
    for (const segment of name.slice(ENV_PREFIX.length).split(SEPARATOR)) {
      node = node.children.get(segment.toLowerCase());
      if (!node) break;
      path.push(node.key);
    }
    if (!node) {
      problems.push(`${name}: names no config key; nearest valid names: ${nearestNames(name).join(', ')}`);
      continue;
    }
    if (node.children.size > 0) {
      const keys = leaves(node, path).map((leaf) => envName(leaf.path));
      problems.push(
        `${name}: names the section ${path.join('.')}, not a key; set its keys: ${keys.join(', ')}`,
      );
      continue;
    }
    const dotted = path.join('.');
    const earlier = setBy.get(dotted);
    if (earlier !== undefined) {
      problems.push(`${name}: sets ${dotted}, which ${earlier} sets already`);
      continue;
    }
    setBy.set(dotted, name);
    try {
      overrides.push({ name, path, value: coerce(text, node) });
    } catch (err) {
      problems.push(`${name}: is not valid JSON (${errorMessage(err)})`);
    }
  }
  if (problems.length) {
    throw new ConfigError(
      `invalid config in the environment (names are ${ENV_PREFIX} + the key path joined by "${SEPARATOR}", ` +
        `e.g. ${ENV_PREFIX}STORAGE${SEPARATOR}BUCKET):\n  ${problems.join('\n  ')}`,
      problems,
    );
  }
  return overrides;
}

/** A copy of `base` with every override set; `base` is left as it is. */
export function applyEnvOverrides(base: unknown, overrides: readonly EnvOverride[]): unknown {
  if (overrides.length === 0) return base;
  // Anything but an object is left for validation to report.
  if (base !== undefined && base !== null && !isObject(base)) return base;
  const result: JsonObject = isObject(base) ? structuredClone(base) : {};
  for (const { path, value } of overrides) {
    let node = result;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = isObject(next) ? next : (node[key] = {});
    }
    node[path[path.length - 1]!] = value;
  }
  return result;
}

/** Raw config input (e.g. a parsed file) with the RECORDER_* variables of `env` applied over it. */
export function configFromEnv(env: NodeJS.ProcessEnv, base: unknown): unknown {
  return applyEnvOverrides(base, envOverrides(env));
}
