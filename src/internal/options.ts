/**
 * Validation of the supervisor's options, up front, into a normalized record.
 *
 * Each field is checked against an `effect/Schema` schema; a failure becomes
 * `InvalidOptions` with a message that names the field and the value.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { InvalidOptions } from "../Errors.js"
import * as Restart from "../Restart.js"

const PositiveInt = Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))
const NonNegativeInt = Schema.Int.pipe(Schema.greaterThanOrEqualTo(0))
const Capacity = Schema.Union(PositiveInt, Schema.Literal(Infinity))
const Strategy = Schema.Literal("suspend", "dropping", "sliding")
const RestartStrategy = Schema.Literal("one-for-one", "one-for-all")
const Fn = Schema.declare((u: unknown): u is (...args: Array<any>) => unknown => typeof u === "function")
const NonEmptyString = Schema.String.pipe(Schema.minLength(1))
/** A Duration input that means what it says: no negative, NaN or unparsable values (which
 * `Duration.decode` would silently turn into 0). */
export const isDurationInput = (u: unknown): u is Duration.DurationInput => {
  if (typeof u === "number") return u >= 0 && !Number.isNaN(u)
  if (typeof u === "bigint") return u >= 0n
  if (Array.isArray(u)) return u.length === 2 && u.every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0)
  // "-5 seconds" parses, clamped to zero
  if (typeof u === "string" && u.trimStart().startsWith("-")) return false
  return Option.isSome(Duration.decodeUnknown(u))
}
const DurationLike = Schema.declare(isDurationInput)
const Retain = Schema.Struct({
  failures: Schema.optional(Schema.Union(NonNegativeInt, Schema.Literal(Infinity))),
  dropped: Schema.optional(Schema.Union(NonNegativeInt, Schema.Literal(Infinity)))
})
const IsSchedule = Schema.declare((u: unknown): u is Schedule.Schedule<unknown, unknown> => Schedule.isSchedule(u))
const IsPolicy = Schema.declare((u: unknown): u is Restart.Policy =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "RestartPolicy"
)
const IsEffect = Schema.declare((u: unknown): u is Effect.Effect<unknown, unknown, unknown> => Effect.isEffect(u))
const RateLimit = Schema.Struct({ limit: PositiveInt, interval: DurationLike })

/** A value as an `InvalidOptions` message shows it. */
export const render = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "function") return "a function"
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value)
  if (value === undefined || value === null) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Each schema's guard, made once: building one per check cost ~2 µs, and `validate` checks
 * about a dozen fields per supervisor. (None of these schemas transforms: its guard accepts
 * what decoding would.)
 */
const guards = new WeakMap<Schema.Schema<any, any>, (u: unknown) => boolean>()

const guardOf = <A, I>(schema: Schema.Schema<A, I>): (u: unknown) => boolean => {
  let guard = guards.get(schema)
  if (guard === undefined) {
    guard = Schema.is(schema)
    guards.set(schema, guard)
  }
  return guard
}

/** Checks one field; `undefined` passes when the field is optional. */
const check = <A, I>(
  options: Record<string, unknown>,
  field: string,
  schema: Schema.Schema<A, I>,
  expected: string,
  optional = true
): InvalidOptions | undefined => {
  const value = options[field]
  if (value === undefined && optional) return undefined
  return guardOf(schema)(value)
    ? undefined
    : new InvalidOptions({ message: `${field} must be ${expected}, got ${render(value)}` })
}

/** @internal */
export interface Normalized {
  readonly workers: number
  readonly capacity: number
  readonly strategy: "suspend" | "dropping" | "sliding"
  readonly timeout: Duration.Duration | undefined
  readonly rateLimit: { readonly limit: number; readonly interval: Duration.Duration } | undefined
  readonly restart: Restart.Policy & { readonly withinMillis: number }
  readonly name: string
  readonly spans: boolean
  readonly perKey: number
  readonly retain: { readonly failures: number; readonly dropped: number; readonly outcomesBuffer: number }
  readonly drain: Duration.Duration | undefined
}

/** Retention for a long-lived supervisor (`make`); `run` keeps everything for its batch. */
export const defaultRetain = { failures: 1000, dropped: 1000 } as const

/** Unread outcomes one `outcomes` subscriber may fall behind by before the oldest are dropped. */
export const defaultOutcomesBuffer = 4096

/** @internal */
export const validateWorkers = (workers: unknown, field = "workers"): InvalidOptions | undefined =>
  check({ [field]: workers }, field, PositiveInt, "an integer >= 1", false)

/** @internal */
export const validateRetry = (retry: unknown): InvalidOptions | undefined =>
  check({ retry }, "retry", IsSchedule, "a Schedule")

/** @internal */
export const validate = (input: unknown): Effect.Effect<Normalized, InvalidOptions> =>
  Effect.suspend(() => {
    if (typeof input !== "object" || input === null) {
      return Effect.fail(new InvalidOptions({ message: `options must be an object, got ${render(input)}` }))
    }
    const options = input as Record<string, unknown>
    const error = validateWorkers(options.workers) ??
      check(options, "handler", Fn, "a function (task, resource) => Effect", false) ??
      check(options, "capacity", Capacity, "an integer >= 1 or Infinity") ??
      check(options, "strategy", Strategy, "one of \"suspend\", \"dropping\", \"sliding\"") ??
      check(options, "timeout", DurationLike, "a Duration input (e.g. \"1 second\" or millis >= 0)") ??
      validateRetry(options.retry) ??
      check(options, "rateLimit", RateLimit, "{ limit: integer >= 1, interval: Duration input }") ??
      check(options, "resource", IsEffect, "an Effect") ??
      check(options, "combine", Fn, "a function (state, value, task) => state") ??
      check(options, "name", NonEmptyString, "a non-empty string") ??
      check(options, "spans", Schema.Boolean, "a boolean") ??
      check(options, "key", Fn, "a function (task) => string") ??
      check(options, "priority", Fn, "a function (task) => number") ??
      check(options, "perKey", PositiveInt, "an integer >= 1") ??
      check(options, "restart", IsPolicy, "a Restart.Policy (Restart.policy({...}))") ??
      check(options, "describe", Fn, "a function (task) => string") ??
      check(options, "retain", Retain, "{ failures?: integer >= 0 or Infinity, dropped?: integer >= 0 or Infinity }") ??
      check(options, "outcomesBuffer", PositiveInt, "an integer >= 1") ??
      check(options, "drain", DurationLike, "a Duration input (e.g. \"30 seconds\" or millis >= 0)")
    if (error !== undefined) return Effect.fail(error)
    const restart = (options.restart as Restart.Policy | undefined) ?? Restart.defaultPolicy
    const fields = restart as unknown as Record<string, unknown>
    const restartError = check(fields, "maxRestarts", NonNegativeInt, "an integer >= 0") ??
      check(fields, "within", DurationLike, "a Duration input") ??
      check(fields, "maxFutileRestarts", NonNegativeInt, "an integer >= 0") ??
      check(fields, "strategy", RestartStrategy, "\"one-for-one\" or \"one-for-all\"") ??
      check(fields, "backoff", IsSchedule, "a Schedule")
    if (restartError !== undefined) {
      return Effect.fail(new InvalidOptions({ message: `restart.${restartError.message}` }))
    }
    if (options.combine !== undefined && !("initial" in options && options.initial !== undefined)) {
      return Effect.fail(
        new InvalidOptions({ message: "combine needs an initial state, got combine and no initial" })
      )
    }
    if (options.perKey !== undefined && options.key === undefined) {
      return Effect.fail(
        new InvalidOptions({ message: `perKey needs a key function, got perKey ${options.perKey} and no key` })
      )
    }
    if (options.rateLimit !== undefined && Duration.toMillis((options.rateLimit as any).interval) <= 0) {
      return Effect.fail(
        new InvalidOptions({
          message: `rateLimit.interval must be positive, got ${render((options.rateLimit as any).interval)}`
        })
      )
    }
    const rateLimit = options.rateLimit as { limit: number; interval: Duration.DurationInput } | undefined
    const name = (options.name as string | undefined) ?? "supervisor"
    return Effect.succeed<Normalized>({
      workers: options.workers as number,
      capacity: (options.capacity as number | undefined) ?? 1024,
      strategy: (options.strategy as Normalized["strategy"] | undefined) ?? "suspend",
      timeout: options.timeout === undefined ? undefined : Duration.decode(options.timeout as Duration.DurationInput),
      rateLimit: rateLimit === undefined ? undefined : {
        limit: rateLimit.limit,
        interval: Duration.decode(rateLimit.interval)
      },
      restart: { ...restart, withinMillis: Duration.toMillis(Duration.decode(restart.within)) },
      name,
      spans: (options.spans as boolean | undefined) ?? options.name !== undefined,
      perKey: (options.perKey as number | undefined) ?? Infinity,
      retain: {
        failures: (options.retain as any)?.failures ?? defaultRetain.failures,
        dropped: (options.retain as any)?.dropped ?? defaultRetain.dropped,
        outcomesBuffer: (options.outcomesBuffer as number | undefined) ?? defaultOutcomesBuffer
      },
      drain: options.drain === undefined ? undefined : Duration.decode(options.drain as Duration.DurationInput)
    })
  })
