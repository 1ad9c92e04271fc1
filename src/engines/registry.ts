// Engine name → factory. The composition root registers the built-in engines once; a second
// registration of a name is a programming error, not an override (as External Secrets' providers).
import { DbcredError } from '../util/errors.ts';
import type { Engine, EngineFactory, EngineOptions, ServerConnection } from './engine.ts';
import { createMysqlEngine } from './mysql/mysql-engine.ts';
import { createPostgresEngine } from './postgres/postgres-engine.ts';

/** A set of engine factories by name. */
export class EngineRegistry {
  readonly #factories = new Map<string, EngineFactory>();

  /** register adds a factory; it throws if the name is already taken. */
  register(name: string, factory: EngineFactory): this {
    if (this.#factories.has(name)) throw new Error(`engine "${name}" is already registered`);
    this.#factories.set(name, factory);
    return this;
  }

  /** names lists the registered engines in registration order. */
  names(): string[] {
    return [...this.#factories.keys()];
  }

  /** create builds an engine for one server; DB_UNSUPPORTED for an unknown engine name. */
  create(name: string, connection: ServerConnection, options?: EngineOptions): Engine {
    const factory = this.#factories.get(name);
    if (factory === undefined) throw new DbcredError('DB_UNSUPPORTED', `no engine named "${name}" (known: ${this.names().join(', ')})`);
    return factory(connection, options);
  }
}

/** builtinEngines returns a registry with postgres and mysql registered. */
export function builtinEngines(): EngineRegistry {
  return new EngineRegistry().register('postgres', createPostgresEngine).register('mysql', createMysqlEngine);
}
