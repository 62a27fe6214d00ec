/**
 * Tasks, values and errors as JSON text in the store, through the queue's Schemas.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import type { JobError, Queue } from "./protocol.js"

/** @internal */
export interface Codec<T, A, E> {
  readonly encodeTask: (task: T) => string
  readonly decodeTask: (payload: string) => T
  readonly encodeResult: (value: A) => string | null
  readonly decodeResult: (text: string | null) => A
  readonly encodeError: (error: JobError<E>) => string
  readonly decodeError: (text: string) => JobError<E>
}

/**
 * A task that encodes to `undefined` (`Schema.Void`, `Schema.Undefined`): JSON has no text for
 * it, and a payload is never null. Not JSON either, so it cannot be mistaken for a value.
 */
const UNDEFINED = "undefined"

/**
 * A value JSON would store as something else: `NaN` and the infinities become `null`, which
 * then does not decode (a job dead for a payload that was valid when offered).
 *
 * @internal
 */
export class NotJson extends Error {}

const strict = (_key: string, value: unknown): unknown => {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new NotJson(`${value} has no JSON form (it would be stored as null)`)
  }
  return value
}

const toText = (encoded: unknown): string | null => encoded === undefined ? null : JSON.stringify(encoded, strict)
const fromText = (text: string | null): unknown => text === null ? undefined : JSON.parse(text)

/** @internal */
export const make = <T, A, E>(queue: Pick<Queue<T, A, E>, "task" | "success" | "failure">): Codec<T, A, E> => {
  const encodeTask = Schema.encodeSync(queue.task)
  const decodeTask = Schema.decodeUnknownSync(queue.task)
  const encodeValue = Schema.encodeSync(queue.success)
  const decodeValue = Schema.decodeUnknownSync(queue.success)
  const encodeFailure = Schema.encodeSync(queue.failure)
  const decodeFailure = Schema.decodeUnknownSync(queue.failure)
  return {
    encodeTask: (task) => toText(encodeTask(task)) ?? UNDEFINED,
    decodeTask: (payload) => decodeTask(payload === UNDEFINED ? undefined : JSON.parse(payload)),
    encodeResult: (value) => toText(encodeValue(value)),
    decodeResult: (text) => decodeValue(fromText(text)),
    encodeError: (error) =>
      JSON.stringify(error._tag === "Failure" ? { _tag: "Failure", error: encodeFailure(error.error) } : error, strict),
    decodeError: (text) => {
      const parsed = JSON.parse(text) as { _tag: string; error?: unknown; message?: string }
      if (parsed._tag === "Failure") {
        try {
          return { _tag: "Failure", error: decodeFailure(parsed.error) }
        } catch {
          // written by an older version of the failure schema: keep what we can show
          return { _tag: "Defect", message: `undecodable failure: ${JSON.stringify(parsed.error)}` }
        }
      }
      return parsed as JobError<E>
    }
  }
}
