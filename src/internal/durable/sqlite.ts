/**
 * The SQLite store: the connection settings `Durable.layerSqlite` applies (busy timeout,
 * `synchronous`) before the SQL store is made over that connection.
 *
 * @internal
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isDurationInput } from "../options.js"
import { StoreError, type StoreService } from "./protocol.js"
import * as SqlStore from "./sqlStore.js"

/** @internal */
export type Synchronous = "OFF" | "NORMAL" | "FULL" | "EXTRA"

const synchronousValues: ReadonlyArray<string> = ["OFF", "NORMAL", "FULL", "EXTRA"] satisfies Array<Synchronous>

/** @internal */
export interface Options {
  readonly synchronous?: Synchronous | undefined
  readonly busyTimeout?: Duration.DurationInput | undefined
  readonly table?: string | undefined
}

/** the options' first mistake, checked before the file is opened @internal */
export const invalid = (options: Options): StoreError | undefined => {
  const synchronous: unknown = options.synchronous ?? "NORMAL"
  if (typeof synchronous !== "string" || !synchronousValues.includes(synchronous)) {
    return new StoreError({
      message: `synchronous must be OFF, NORMAL, FULL or EXTRA, got ${String(synchronous)}`,
      cause: synchronous
    })
  }
  if (options.busyTimeout !== undefined) {
    // SQLite reads an infinite or a 2^31 ms busy_timeout as 0: no waiting at all
    const busy = isDurationInput(options.busyTimeout) ? Duration.decodeUnknown(options.busyTimeout) : Option.none()
    if (Option.isNone(busy) || !Duration.isFinite(busy.value) || Duration.toMillis(busy.value) > 2_147_483_647) {
      return new StoreError({
        message: `busyTimeout must be a finite Duration input of at most 2147483647 ms, got ${
          String(options.busyTimeout)
        }`,
        cause: options.busyTimeout
      })
    }
  }
  return undefined
}

/**
 * The store over a SQLite client of its own. The client has one connection per process, so
 * connection pragmas set once hold for every statement after them.
 *
 * @internal
 */
export const make = (options: Options): Effect.Effect<StoreService, StoreError, SqlClient.SqlClient> =>
  Effect.suspend(() => {
    const mistake = invalid(options)
    if (mistake !== undefined) return Effect.fail(mistake)
    const busy = Math.round(Duration.toMillis(options.busyTimeout ?? "10 seconds"))
    return Effect.zipRight(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          Effect.mapError(
            Effect.zipRight(
              sql.unsafe(`PRAGMA busy_timeout = ${busy}`),
              sql.unsafe(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`)
            ),
            (cause) => new StoreError({ message: `SQLite pragmas: ${cause.message}`, cause })
          )
      ),
      SqlStore.make({ table: options.table, ownClient: true })
    )
  })
