import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { applyEnvOverrides, envOverrides } from './env.js';
import { configSchema, type Config } from './schema.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function showValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node = input;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

export interface ParseConfigOptions {
  /** Where the value at a key path came from (e.g. an environment variable), added to its error. */
  origin?: (path: readonly PropertyKey[]) => string | undefined;
}

/** Validates raw config input; throws ConfigError naming each key path, its value and what is allowed. */
export function parseConfig(input: unknown, options: ParseConfigOptions = {}): Config {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return deepFreeze(result.data);
  const name = (path: readonly PropertyKey[]) => {
    const origin = options.origin?.(path);
    return `${path.map(String).join('.') || '(root)'}${origin ? ` (${origin})` : ''}`;
  };
  const issues = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `${issue.keys.map((k) => name([...issue.path, k])).join(', ')}: unknown key`;
    }
    return `${name(issue.path)} = ${showValue(valueAt(input, issue.path))}: ${issue.message}`;
  });
  throw new ConfigError(`invalid config:\n  ${issues.join('\n  ')}`, issues);
}

/** Reads a YAML or JSON config file, unvalidated. */
function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${errorMessage(err)}`);
  }
  try {
    return extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${path}: ${errorMessage(err)}`);
  }
}

/** Reads a YAML or JSON config file and validates it. */
export function loadConfigFile(path: string): Config {
  return parseConfig(readConfigFile(path));
}

/**
 * The config to run with: the file (if any), then the RECORDER_* variables of `env` over it
 * (see env.ts), validated. Without a file the embedded defaults are the base; without `env`
 * no variables are read.
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const base = options.file === undefined ? {} : readConfigFile(options.file);
  const overrides = envOverrides(options.env ?? {});
  return parseConfig(applyEnvOverrides(base, overrides), {
    origin: (path) => {
      const override = overrides.find((o) => o.path.every((key, i) => path[i] === key));
      return override && `env ${override.name}`;
    },
  });
}

/** JSON Schema of the config file, for editors and for checking deployment files. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input' });
}
