/**
 * One live `worker_threads.Worker` speaking @effect/platform's worker protocol (the thread
 * runs `WorkerRunner` on `NodeWorkerRunner`). The main side is ours, on the Worker itself:
 * ready handshake, a request map, exit / error detection, so that a crash, an interruption or
 * a stop is handled here and never by the platform's pool (which respawns forever and waits a
 * fixed 5 s on a spinning thread) — and a reply costs no fiber.
 *
 * @internal
 */
import { WorkerError } from "@effect/platform/WorkerError"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as WT from "node:worker_threads"
import { ThreadStartFailed, WorkerCrashed } from "../../Errors.js"
import { NotStarted } from "../chunked.js"
import { Outbox } from "./outbox.js"

/** How to start a thread and how long to wait for it. @internal */
export interface SpawnOptions<LE = never> {
  readonly file: URL
  readonly grace: Duration.Duration
  readonly startTimeout: Duration.Duration
  readonly workerOptions: Omit<WT.WorkerOptions, "eval" | "workerData"> | undefined
  /** decodes the thread-side layer's typed failure, when the spec declares its Schema */
  readonly layerError: Schema.Schema<LE, any> | undefined
}

/**
 * A reply of the thread to request `id`, as @effect/platform's runner sends it:
 * `[id, 0, [value]]` success, `[id, 2, error]` typed failure, `[id, 3, cause]` defect, or
 * interruption by the closing thread; `[id, 4]`: interrupted while the thread is not closing
 * (the handler interrupted itself, or the main side asked); `[id, 1]`: a chunk's request
 * dropped before the thread began it.
 *
 * @internal
 */
export type Reply =
  | readonly [id: number, kind: 0, values: ReadonlyArray<unknown>]
  | readonly [id: number, kind: 1]
  | readonly [id: number, kind: 2, error: unknown]
  | readonly [id: number, kind: 3, cause: unknown]
  | readonly [id: number, kind: 4]

/**
 * A request, inside the platform's `[0, request]` envelope: `[id, 0, payload]` runs at once,
 * `[id, 1]` interrupts request `id`, `[0, 2, [[id, payload], …]]` is a chunk whose requests
 * run one after another.
 *
 * @internal
 */
export type Request =
  | readonly [id: number, kind: 0, payload: unknown, span?: undefined]
  | readonly [id: number, kind: 1]
  | readonly [unused: 0, kind: 2, requests: ReadonlyArray<readonly [id: number, payload: unknown]>]

/**
 * Messages from the thread: the platform's `[0]` ready, and our own `[3, [reply, …]]` (the
 * replies to the requests that ended in one go) and `[2, text, encoded?]`: the thread-side
 * program failed (sent by `ThreadRunner.serve` before it exits), with its typed failure encoded
 * when that is a Schema class instance.
 */
type FromThread =
  | readonly [0]
  | readonly [3, ReadonlyArray<Reply>]
  | readonly [2, string]
  | readonly [2, string, encoded: unknown]

const isReply = (reply: unknown): reply is Reply => {
  if (!Array.isArray(reply) || !Number.isInteger(reply[0])) return false
  switch (reply[1]) {
    case 0:
      return reply.length === 3 && Array.isArray(reply[2])
    case 1:
    case 4:
      return reply.length === 2
    case 2:
    case 3:
      return reply.length === 3
    default:
      return false
  }
}

/** A guard, not a Schema: it runs on every reply, and a few checks cost next to nothing. */
const isFromThread = (message: unknown): message is FromThread => {
  if (!Array.isArray(message)) return false
  switch (message[0]) {
    case 0:
      return message.length === 1
    case 3:
      return message.length === 2 && Array.isArray(message[1]) && message[1].every(isReply)
    case 2:
      return (message.length === 2 || message.length === 3) && typeof message[1] === "string"
    default:
      return false
  }
}

/** A short rendering of a stray message, for the crash cause. */
const preview = (message: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(message) ?? String(message)
  } catch {
    text = String(message)
  }
  return text.length > 100 ? `${text.slice(0, 100)}…` : text
}

/** @internal */
export interface Thread {
  readonly worker: WT.Worker
  readonly threadId: number
  /** callbacks of the requests in flight, by request id */
  readonly pending: Map<number, (reply: Reply | WorkerCrashed) => void>
  nextId: number
  /** requests made together in chunk mode (see chunked.ts), posted as one chunk message */
  readonly outbox: Outbox<readonly [id: number, payload: unknown]>
  /** the calls go out in chunks, which the thread runs one at a time, in order */
  chunks: boolean
  /** chunked requests in flight: what to do if one is dropped before the thread began it */
  readonly inChunks: Map<number, () => void>
  /**
   * `[0]`: the id of the chunked request the thread started last (-1: none), written by the
   * thread before it starts one. Shared memory, not a message: a thread that exits mid-chunk
   * may not have flushed its replies, and this says exactly which requests it never started.
   */
  readonly started: Float64Array
  /** true once the thread reported ready (its per-thread layer is built) */
  ready: boolean
  /** set once the thread is gone (crashed, exited or terminated); later calls fail with it */
  crashed: WorkerCrashed | undefined
  /**
   * Why we are terminating it, set as we start to: its requests fail with it once it has
   * exited, when `started` says which ones it never began.
   */
  ending: unknown
  /** resolves when the thread has exited */
  readonly exited: Promise<void>
  /** closing it stops the thread (asks it to stop, terminates it after `grace`) */
  readonly scope: Scope.CloseableScope
}

const TSX_ENTRY = new URL("./tsx-entry.mjs", import.meta.url)

const isTypeScript = (file: URL) => /\.[mc]?ts$/.test(file.pathname)

/**
 * A thread's young generation unless `workerOptions.resourceLimits` sets one: V8's default
 * lets each thread's grow to ~48 MB, which measured 46 MB more peak RSS for two threads doing
 * 20k small round trips (226 vs 180 MB), at no measured cost in speed.
 */
const YOUNG_GENERATION_MB = 8

const newWorker = (options: SpawnOptions<any>, started: Float64Array): WT.Worker => {
  const workerOptions: WT.WorkerOptions = {
    ...options.workerOptions,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, ...options.workerOptions?.resourceLimits }
  }
  return isTypeScript(options.file)
    ? new WT.Worker(TSX_ENTRY, {
      ...workerOptions,
      workerData: { effectSupervisorEntry: options.file.href, effectSupervisorStarted: started }
    })
    : new WT.Worker(options.file, { ...workerOptions, workerData: { effectSupervisorStarted: started } })
}

/** @internal */
export const post = (thread: Thread, message: unknown, transfers?: ReadonlyArray<unknown>): void =>
  thread.worker.postMessage(message, transfers as ReadonlyArray<WT.TransferListItem> | undefined)

/**
 * Marks the thread gone and fails every request in flight with `WorkerCrashed`.
 *
 * @internal
 */
export const markCrashed = (thread: Thread, cause: unknown, exited = false): void => {
  if (thread.crashed !== undefined) return
  const crashed = new WorkerCrashed({ cause })
  thread.crashed = crashed
  const pending = Array.from(thread.pending)
  thread.pending.clear()
  // only once the thread is gone does `started` hold for good: before, it may start another
  const started = exited && thread.chunks ? thread.started[0]! : Infinity
  const waited = started < Infinity ? new WorkerCrashed({ cause: new NotStarted(String(cause)) }) : crashed
  for (const [id, callback] of pending) callback(id > started ? waited : crashed)
}

/**
 * Terminates the thread now (no grace) and waits until it has exited. Its requests fail with
 * `cause` as it exits: the chunked ones it never began as `NotStarted` (see `markCrashed`).
 *
 * @internal
 */
export const terminate = (thread: Thread, cause: unknown): Effect.Effect<void> =>
  Effect.suspend(() => {
    thread.ending ??= cause
    return Effect.promise(() => thread.worker.terminate().then(() => thread.exited))
  })

/**
 * Waits up to `ms` for `promise`: true when it settled in time. Callback based, so it works the
 * same in an interrupted fiber's finalizer (uninterruptible) as anywhere else.
 *
 * Real time on purpose, not `Clock`: what it waits for is a real thread. Under a `TestClock`
 * a virtual grace period would never pass, and closing a supervisor with a spinning thread
 * would hang instead of terminating the thread.
 *
 * @internal
 */
export const settlesWithin = (promise: Promise<unknown>, ms: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      resume(Effect.succeed(false))
    }, ms)
    promise.then(() => {
      if (settled) return
      clearTimeout(timer)
      resume(Effect.succeed(true))
    })
  })

/**
 * Stops a thread: asks it to close (its thread-side finalizers run), and terminates it if it
 * has not exited within `grace`. A thread still starting has nothing to finalize: terminated.
 */
const stop = (thread: Thread, grace: Duration.Duration): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (!thread.ready) return terminate(thread, new Error(`thread ${thread.threadId} stopped while starting`))
    markCrashed(thread, new Error(`thread ${thread.threadId} was stopped`))
    try {
      post(thread, [1])
    } catch {
      // the port is already closed: the thread is exiting
    }
    return Effect.flatMap(
      settlesWithin(thread.exited, Duration.toMillis(grace)),
      (exited) => exited ? Effect.void : terminate(thread, new Error(`thread ${thread.threadId} stopped`))
    )
  })

/** The thread-side layer's own typed failure, when it was encoded and the spec can decode it. */
const startFailure = <LE>(options: SpawnOptions<LE>, fatal: FromThread & { 0: 2 } | undefined): LE | undefined => {
  if (fatal === undefined || fatal.length !== 3 || options.layerError === undefined) return undefined
  try {
    const decoded = Schema.decodeUnknownEither(options.layerError)(fatal[2])
    return Either.isRight(decoded) ? decoded.right : undefined
  } catch {
    // a `layerError` whose transformation throws: inside the exit listener, it would skip the
    // rest of it (the thread's exit never resolved, and closing waited for ever)
    return undefined
  }
}

/**
 * Spawns one thread in a child scope of `parent` and waits until it is ready. Fails with
 * `ThreadStartFailed` (never hangs) when the file cannot load, the thread-side program fails,
 * the thread exits first, or `startTimeout` passes — or with the thread-side layer's typed
 * failure, decoded with `layerError`.
 *
 * @internal
 */
export const spawn = <LE>(
  options: SpawnOptions<LE>,
  parent: Scope.Scope
): Effect.Effect<Thread, ThreadStartFailed | LE> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const file = options.file.href
      const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      // a finalizer added to a closed scope runs at once: that is how we see that `parent` is
      // already closing (e.g. a replacement requested during shutdown) and start nothing
      let closing = false
      yield* Scope.addFinalizer(scope, Effect.sync(() => closing = true))
      if (closing) {
        return yield* new ThreadStartFailed({ file, cause: new Error("the scope is closed") })
      }
      const started = new Float64Array(new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT)).fill(-1)
      const worker = yield* Effect.try({
        try: () => newWorker(options, started),
        catch: (cause) => new ThreadStartFailed({ file, cause })
      }).pipe(Effect.tapError(() => Scope.close(scope, Exit.void)))
      const ready = yield* Deferred.make<void, ThreadStartFailed | LE>()
      let error: unknown
      let fatal: FromThread & { 0: 2 } | undefined
      let resolveExited!: () => void
      const thread: Thread = {
        worker,
        threadId: worker.threadId,
        pending: new Map(),
        nextId: 0,
        chunks: false,
        inChunks: new Map(),
        started,
        outbox: new Outbox(
          (requests, transfers) =>
            worker.postMessage([0, [0, 2, requests]], transfers as ReadonlyArray<WT.TransferListItem>),
          // a request that cannot be cloned: a defect of its call, as when it is sent alone
          ([id], cause) => {
            const callback = thread.pending.get(id)
            thread.pending.delete(id)
            callback?.([id, 3, WorkerError.encodeCause(Cause.die(cause))])
          }
        ),
        ready: false,
        crashed: undefined,
        ending: undefined,
        exited: new Promise<void>((resolve) => resolveExited = resolve),
        scope
      }
      worker.on("message", (message: unknown) => {
        if (!isFromThread(message)) {
          // Something other than our runner wrote to the port (user code on the thread, a
          // library): the protocol is broken, so the thread ends. Replies that arrive until it
          // has exited still settle their requests (a stray message can overtake the replies
          // flushed after it); the others fail with WorkerCrashed as it exits (the restart
          // policy replaces it), except those it never began, which go back to the queue.
          thread.ending ??= new Error(
            `worker thread ${thread.threadId} sent a message outside the protocol: ${preview(message)}`
          )
          worker.terminate()
          return
        }
        switch (message[0]) {
          case 0:
            thread.ready = true
            Deferred.unsafeDone(ready, Exit.void)
            return
          case 3: {
            for (const reply of message[1]) {
              const callback = thread.pending.get(reply[0])
              if (callback !== undefined) {
                thread.pending.delete(reply[0])
                try {
                  callback(reply)
                } catch (defect) {
                  // a bug of ours: the other replies still settle, and the host does not crash
                  process.emitWarning(`effect-supervisor: settling a thread's reply threw: ${String(defect)}`)
                }
              }
            }
            return
          }
          case 2:
            if (thread.ready) {
              // once started, the thread is done for (the runner failed, or user code forged its
              // message): it ends now, with that text, and a later exit code cannot say otherwise
              thread.ending ??= new Error(`worker thread ${thread.threadId} failed: ${message[1]}`)
              worker.terminate()
              return
            }
            fatal = message
        }
      })
      // an uncaught error ends the thread: "exit" follows and reports it
      worker.once("error", (cause) => error = cause)
      // a message that cannot be deserialized leaves the protocol broken: end the thread
      worker.once("messageerror", (cause) => {
        error = cause
        worker.terminate()
      })
      worker.once("exit", (code) => {
        const cause = thread.ending ?? (fatal !== undefined
          ? new Error(fatal[1])
          : error ?? new Error(`worker thread ${thread.threadId} exited with code ${code}`))
        Deferred.unsafeDone(ready, Exit.fail(startFailure(options, fatal) ?? new ThreadStartFailed({ file, cause })))
        markCrashed(thread, cause, true)
        resolveExited()
      })
      yield* Scope.addFinalizer(scope, stop(thread, options.grace))

      // Real time, like `settlesWithin`: a real thread is starting, and under a TestClock a
      // virtual start timeout would never pass. One start is all this does: a thread that
      // fails or times out is stopped, and only the caller (the restart policy) tries again.
      const notReady = Effect.async<never, ThreadStartFailed>((resume) => {
        const timer = setTimeout(() =>
          resume(Effect.fail(
            new ThreadStartFailed({
              file,
              cause: new Error(`not ready within ${Duration.format(options.startTimeout)}`)
            })
          )), Duration.toMillis(options.startTimeout))
        return Effect.sync(() => clearTimeout(timer))
      })
      yield* restore(Effect.raceFirst(Deferred.await(ready), notReady)).pipe(
        Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, Exit.void))
      )
      return thread
    })
  )
