/**
 * effect-supervisor/durable: durable queues over SQLite or PostgreSQL. Needs the optional
 * peers `@effect/sql` and `@effect/sql-sqlite-node` or `@effect/sql-pg`; the root entry
 * point does not load them.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Durable from "../Durable.js"
