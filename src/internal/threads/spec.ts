/**
 * Validation of a `Threads.Spec` into the options a thread is spawned with. Synchronous and
 * total: a bad spec is an `InvalidOptions` value, never a throw at the call site.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { InvalidOptions } from "../../Errors.js"
import type { SpawnOptions } from "./thread.js"

/** A spec checked and normalized. @internal */
export interface Validated<LE = never> extends SpawnOptions<LE> {
  readonly schema: Schema.Schema<any, any, never>
}

/** The longest wait `setTimeout` keeps (beyond it Node fires at once). */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

const render = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const invalid = (field: string, expected: string, value: unknown) =>
  Either.left(new InvalidOptions({ message: `Threads spec: ${field} must be ${expected}, got ${render(value)}` }))

/**
 * `Duration.decodeUnknown` turns a negative or NaN number into 0: look at the input itself, so
 * `-1` is rejected rather than read as "at once".
 */
const isNegativeOrNaN = (input: unknown): boolean => {
  if (typeof input === "number") return Number.isNaN(input) || input < 0
  if (typeof input === "bigint") return input < 0n
  if (typeof input === "string") return /^\s*-|NaN/.test(input)
  if (Array.isArray(input)) return input.some((part) => typeof part !== "number" || Number.isNaN(part) || part < 0)
  return false
}

/** A duration input from `min` (exclusive when `positive`) to `setTimeout`'s limit. */
const duration = (
  field: string,
  input: unknown,
  fallback: Duration.DurationInput,
  positive: boolean
): Either.Either<Duration.Duration, InvalidOptions> => {
  const expected = `a finite duration ${positive ? "> 0" : ">= 0"} (e.g. "500 millis")`
  if (input === undefined) return Either.right(Duration.decode(fallback))
  const decoded = isNegativeOrNaN(input) ? Option.none() : Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return invalid(field, expected, input)
  const millis = Duration.toMillis(decoded.value)
  if (millis > MAX_TIMER_MILLIS || (positive && millis === 0)) return invalid(field, expected, input)
  return Either.right(decoded.value)
}

const fileUrl = (file: unknown): Either.Either<URL, InvalidOptions> => {
  const expected = "a URL, a file: URL string or a path"
  let url: URL
  if (file instanceof URL) url = file
  else if (typeof file !== "string" || file.length === 0) return invalid("file", expected, file)
  else if (!file.startsWith("file:")) url = pathToFileURL(resolve(file))
  else if (URL.canParse(file)) url = new URL(file)
  else return invalid("file", expected, file)
  return Either.right(url)
}

/** checked once, after the other fields: a missing file would otherwise fail every start in turn */
const existing = (url: URL): Either.Either<URL, InvalidOptions> =>
  url.protocol === "file:" && !existsSync(fileURLToPath(url))
    ? invalid("file", "an existing file", url.href)
    : Either.right(url)

/** @internal */
export const validate = <LE>(spec: unknown): Either.Either<Validated<LE>, InvalidOptions> =>
  Either.gen(function*() {
    if (typeof spec !== "object" || spec === null) return yield* invalid("the spec", "an object", spec)
    const fields = spec as Record<string, unknown>
    const file = yield* fileUrl(fields.file)
    if (!Schema.isSchema(fields.schema)) {
      return yield* invalid("schema", "a Schema (the union of the Schema.TaggedRequest classes)", fields.schema)
    }
    const grace = yield* duration("grace", fields.grace, "1 second", false)
    const startTimeout = yield* duration("startTimeout", fields.startTimeout, "30 seconds", true)
    if (fields.layerError !== undefined && !Schema.isSchema(fields.layerError)) {
      return yield* invalid("layerError", "a Schema (of the thread-side layer's typed failure)", fields.layerError)
    }
    const workerOptions = fields.workerOptions
    if (workerOptions !== undefined && (typeof workerOptions !== "object" || workerOptions === null)) {
      return yield* invalid("workerOptions", "an object (Worker options)", workerOptions)
    }
    for (const reserved of ["eval", "workerData"]) {
      if (workerOptions !== undefined && reserved in workerOptions) {
        return yield* invalid(`workerOptions.${reserved}`, "absent (reserved)", (workerOptions as any)[reserved])
      }
    }
    return {
      file: yield* existing(file),
      schema: fields.schema as Schema.Schema<any, any, never>,
      grace,
      startTimeout,
      workerOptions: workerOptions as Validated["workerOptions"],
      layerError: fields.layerError as Schema.Schema<LE, any> | undefined
    }
  })
