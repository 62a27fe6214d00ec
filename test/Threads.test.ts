// Worker-thread offload. Real threads, so `it.live` (TestClock cannot fire a thread's timeout);
// each test starts as few threads as it can (a thread takes ~1 s to start through tsx).
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  ParseResult,
  pipe,
  Schedule,
  Schema,
  Scope,
  Stream,
  Tracer
} from "effect"
import { Errors, Restart, Supervisor } from "effect-supervisor"
import { Threads } from "effect-supervisor/threads"
import { execFile, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import {
  Async,
  Boom,
  Cached,
  Die,
  Echo,
  Exit as ExitRequest,
  ExitSoon,
  Fail,
  Hold,
  Info,
  Interrupts,
  Late,
  ModelMissing,
  Request,
  Slow,
  Spin,
  Stray,
  Sum,
  Throw,
  Throws,
  Throws13,
  Touchy,
  Undescribable,
  Wait
} from "./fixtures/threads/requests.js"

const grace = 300
const spec: Threads.Spec<Request> = {
  file: new URL("./fixtures/threads/worker.ts", import.meta.url),
  schema: Request,
  grace: `${grace} millis`
}

/** Wall-clock time taken by an effect, in ms: the subject is how fast a real thread stops. */
const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const value = yield* self
    return [value, Date.now() - start] as const
  })

/** `Info` through a supervisor, typed by `Info`'s success (not the union of every request's). */
const info = (supervisor: Threads.ThreadSupervisor<Request>) => Threads.execute(supervisor, new Info())

/** Polls until the supervisor runs a task (a poll, not a sleep standing in for a signal). */
const running = <T, A, E, S>(supervisor: Supervisor.Supervisor<T, A, E, S>) =>
  supervisor.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (s) => s.running > 0 }))

/** A fold of the numbers the tasks return (anything else adds nothing). */
const addNumbers = (sum: number, value: unknown) => sum + (typeof value === "number" ? value : 0)

/** A batch on one worker (one thread, chunks pipelined on it), folding what the tasks return. */
const runSummed = (tasks: ReadonlyArray<Request>) =>
  Supervisor.run(tasks, { workers: 1, ...Threads.offload(spec), initial: 0, combine: addNumbers })

const BROKEN_AT_LOAD = new URL("data:text/javascript,throw new Error('thrown while the worker file loads')")

describe("Threads: one thread", () => {
  it.live("round trips typed success and failure, rejects a bad payload, transfers bytes, keeps state", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Threads.resource(spec)
      const threadId = yield* thread.threadId

      // a plain object `{ _tag, ... }` (from JavaScript, or JSON) runs as its tag's class: its
      // reply is decoded with that class's Schemas (it has none of its own); first, before any
      // instance of those classes was seen
      const plain = (value: object) => value as Request
      expect(yield* thread.execute(plain({ _tag: "Echo", n: 1 }))).toBe(1)
      expect(yield* Effect.flip(thread.execute(plain({ _tag: "Fail", reason: "plain" })))).toEqual(
        new Boom({ reason: "plain" })
      )
      expect(ParseResult.isParseError(yield* Effect.flip(thread.execute(plain({ _tag: "Nope" }))))).toBe(true)

      expect(yield* thread.execute(new Echo({ n: 42 }))).toBe(42)

      const failure = yield* Effect.flip(thread.execute(new Fail({ reason: "nope" })))
      expect(failure).toBeInstanceOf(Boom)
      expect(failure).toEqual(new Boom({ reason: "nope" }))

      // a defect in the handler is a defect here; the thread carries on
      const died = yield* Effect.exit(thread.execute(new Die({ message: "kaput" })))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
      expect(Exit.isFailure(died) && String(Cause.squash(died.cause))).toContain("kaput")
      // so is a handler that returns no Effect, with what it returned
      const async = yield* Effect.exit(thread.execute(new Async()))
      expect(Exit.isFailure(async) && Cause.isDie(async.cause)).toBe(true)
      expect(Exit.isFailure(async) && String(Cause.squash(async.cause))).toContain(
        "the handler of Async must return an Effect, got a Promise"
      )

      // a payload that does not fit its Schema is rejected before it is sent
      const parseError = yield* Effect.flip(thread.execute(new Echo({ n: "x" as unknown as number }, true)))
      expect(ParseResult.isParseError(parseError)).toBe(true)

      const bytes = new Uint8Array([1, 2, 3, 250])
      expect(yield* thread.execute(new Sum({ bytes }))).toBe(256)
      expect(bytes.byteLength).toBe(0) // moved to the thread, not copied

      // per-thread state survives between tasks
      expect(yield* thread.execute(new Info())).toEqual({ threadId, count: 1, interrupted: 0 })
      expect(yield* thread.execute(new Info())).toEqual({ threadId, count: 2, interrupted: 0 })

      // cooperative code is interrupted inside the thread (its finalizer ran), no restart
      const timedOut = yield* thread.execute(new Wait()).pipe(Effect.timeout("50 millis"), Effect.either)
      expect(Either.isLeft(timedOut)).toBe(true)
      expect(yield* thread.execute(new Info())).toEqual({ threadId, count: 3, interrupted: 1 })
    })))

  it.live(
    "a thread that cannot start fails each start (bounded by startTimeout); a supervisor escalates",
    () =>
      Effect.gen(function*() {
        const failing = Threads.offload({
          ...spec,
          file: new URL("./fixtures/threads/failing-layer.ts", import.meta.url)
        })
        const neverReady: Threads.Spec<Request> = {
          ...spec,
          file: new URL("./fixtures/threads/never-ready.ts", import.meta.url),
          startTimeout: "300 millis"
        }
        const typedLayerError = { ...spec, file: new URL("./fixtures/threads/typed-layer-error.ts", import.meta.url) }
        let starts = 0
        const [failed, elapsed] = yield* timed(Effect.all([
          Effect.flip(Effect.scoped(failing.resource)),
          // a file that throws while it loads (a missing one is InvalidOptions: see "a bad spec")
          Effect.flip(Effect.scoped(Threads.resource({ ...spec, file: BROKEN_AT_LOAD }))),
          Effect.flip(Effect.scoped(Threads.resource(neverReady))),
          // a typed layer failure: rebuilt as its class with `layerError`, text without it
          Effect.scoped(Threads.resource({ ...typedLayerError, layerError: ModelMissing })).pipe(
            Effect.as("started"),
            Effect.catchTag("ModelMissing", (error) => Effect.succeed(error))
          ),
          Effect.flip(Effect.scoped(Threads.resource(typedLayerError))),
          // the layer always fails: each acquisition is one start that fails; the thread layer
          // never retries on its own, so the restart policy sees every one and escalates
          Effect.scoped(Effect.gen(function*() {
            const supervisor = yield* Supervisor.make({
              workers: 1,
              handler: failing.handler,
              resource: Effect.suspend(() => {
                starts++
                return failing.resource
              }),
              // starts slower than the intensity window (a loaded machine) are caught as futile
              restart: Restart.policy({ maxRestarts: 2, maxFutileRestarts: 2 })
            })
            yield* supervisor.submit(new Echo({ n: 1 }))
            return yield* Effect.flip(supervisor.awaitIdle)
          }))
        ], { concurrency: "unbounded" }))
        expect(failed[0]).toBeInstanceOf(Threads.ThreadStartFailed)
        expect(failed[0]).toBeInstanceOf(Errors.ThreadStartFailed)
        expect(failed[0].message).toContain("the model file is missing")
        expect(failed[1]).toBeInstanceOf(Threads.ThreadStartFailed)
        expect(failed[1].message).toContain("thrown while the worker file loads")
        expect(failed[2]).toBeInstanceOf(Threads.ThreadStartFailed)
        expect(failed[2].message).toContain("not ready within 300ms")
        expect(failed[3]).toBeInstanceOf(ModelMissing)
        expect(failed[3]).toEqual(new ModelMissing({ path: "/models/m.bin" }))
        expect(failed[4]).toBeInstanceOf(Threads.ThreadStartFailed)
        expect(failed[4].message).toContain("ModelMissing")
        expect(failed[5]).toBeInstanceOf(Errors.Escalated)
        expect(starts).toBe(3) // the first start and 2 restarts
        expect(elapsed).toBeLessThan(60_000) // a few thread starts, however loaded the machine
      }),
    90_000
  )
})

describe("Threads: what the second review found", () => {
  it.live("a defect JSON cannot describe is that task's Defect, in place or in a fiber; the thread carries on", () =>
    Effect.gen(function*() {
      const kinds = ["bigint", "field", "toJSON"] as const
      const tasks: Array<Request> = [
        ...kinds.flatMap((kind) => [false, true].map((later) => new Undescribable({ kind, later }))),
        new Echo({ n: 1 })
      ]
      const summary = yield* runSummed(tasks)
      expect(summary.state).toBe(1)
      expect(summary.stats).toMatchObject({ succeeded: 1, defects: 6, restarts: 0 })
      for (const failure of summary.failures) {
        expect(failure._tag === "Defect" && String(failure.defect)).toContain("cannot cross a thread")
      }
    }))

  it.live("a handler that interrupts itself ends Interrupted (started, not pending); the thread is not restarted", () =>
    Effect.gen(function*() {
      const tasks: Array<Request> = [
        new Interrupts({ later: false }),
        new Interrupts({ later: true }),
        new Echo({ n: 2 })
      ]
      const summary = yield* runSummed(tasks)
      expect(summary.state).toBe(2)
      expect(summary.stats).toMatchObject({ succeeded: 1, interrupted: 2, restarts: 0 })
      expect(summary.pending).toEqual([])
    }))

  it.live("a thread that died while idle: the next chunk goes back to the queue and runs on a fresh thread", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      const before = yield* info(supervisor)
      yield* Threads.execute(supervisor, new ExitSoon({ ms: 20 }))
      // real time: the thread exits on its own timer, 20 ms after its reply
      yield* Effect.sleep("300 millis")
      yield* supervisor.submitAll([1, 2, 3].map((n) => new Echo({ n })))
      yield* supervisor.awaitIdle
      expect(yield* supervisor.stats).toMatchObject({ succeeded: 5, failed: 0, restarts: 1 })
      expect((yield* info(supervisor)).threadId).not.toBe(before.threadId)
    })))

  it.live("a thread that died while idle, tasks sent one at a time (a timeout): the next goes back and runs on a fresh thread", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec), timeout: "10 seconds" })
      const before = yield* info(supervisor)
      yield* Threads.execute(supervisor, new ExitSoon({ ms: 20 }))
      // real time: the thread exits on its own timer, 20 ms after its reply
      yield* Effect.sleep("300 millis")
      const echoes = yield* Effect.all([1, 2, 3].map((n) => Threads.execute(supervisor, new Echo({ n }))), {
        concurrency: "unbounded"
      })
      expect(echoes).toEqual([1, 2, 3])
      expect(yield* supervisor.stats).toMatchObject({ succeeded: 5, failed: 0, restarts: 1 })
      expect((yield* info(supervisor)).threadId).not.toBe(before.threadId)
    })))

  it.live("a stray message fails the task it was running; the ones sent behind it run on the next thread", () =>
    Effect.gen(function*() {
      const stray = new Stray({ messages: [null] })
      const first = new Echo({ n: 1 })
      const summary = yield* runSummed([first, stray, new Echo({ n: 2 }), new Echo({ n: 3 })])
      // the thread never began the two behind the stray message: they ran on the next one
      // (before, they failed with it). The first one's reply may still have been in the
      // thread when it was terminated: then it ends WorkerCrashed too (see the Gotchas)
      const failed = summary.failures.map((failure) => failure.task)
      expect(failed.filter((task) => task !== first)).toEqual([stray])
      expect(summary.state).toBe(failed.includes(first) ? 5 : 6)
      expect(summary.stats).toMatchObject({ succeeded: 4 - failed.length, failed: failed.length, restarts: 1 })
    }))

  it.live("shutdownNow behind a spinning task: the tasks sent behind it are pending (never begun)", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      const behind = [1, 2, 3].map((n) => new Echo({ n }))
      yield* supervisor.submitAll([new Spin(), ...behind])
      yield* running(supervisor)
      const summary = yield* supervisor.shutdownNow
      expect(summary.stats).toMatchObject({ submitted: 4, interrupted: 4, running: 0, queued: 0 })
      expect(summary.pending).toEqual(behind)
    })))

  it.live("a task cancelled while it waits to be handed back after a crash ends once, Interrupted; it never runs", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      const target = new Echo({ n: 7 })
      const outcomes: Array<string> = []
      yield* supervisor.outcomes.pipe(
        Stream.runForEach((outcome) => Effect.sync(() => outcome.task === target && outcomes.push(outcome._tag))),
        Effect.forkScoped
      )
      yield* Effect.yieldNow()
      // the worker measures its tasks first, then sends them as chunks
      yield* supervisor.submitAll(Array.from({ length: 50 }, (_, n) => new Echo({ n })))
      yield* supervisor.awaitIdle
      // one chunk: Late (its reply decodes for 300 ms of real time), a crash, and the target,
      // which the thread never begins: it waits to go back until Late's reply has decoded
      yield* supervisor.pause
      yield* supervisor.submitAll([new Late({ n: 1 }), new ExitRequest({ code: 1 })])
      const caller = yield* Effect.fork(supervisor.execute(target))
      yield* Effect.yieldNow()
      yield* supervisor.resume
      // real time: inside Late's decode, after the crash
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(caller)
      yield* supervisor.awaitIdle
      const summary = yield* supervisor.shutdown
      expect(summary.stats).toMatchObject({ submitted: 53, succeeded: 51, failed: 1, interrupted: 1, queued: 0 })
      // a poll: the outcomes stream delivers on its own fiber
      yield* Effect.sync(() => outcomes.length).pipe(
        Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (n) => n > 0 })
      )
      expect(outcomes).toEqual(["Interrupted"])
    })))

  it.live("tasks handed back after a crash keep their order across both chunks in flight", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      const order: Array<number> = []
      yield* supervisor.outcomes.pipe(
        Stream.runForEach((outcome) =>
          Effect.sync(() => {
            if (outcome._tag === "Success" && typeof outcome.value === "number") order.push(outcome.value)
          })
        ),
        Effect.forkScoped
      )
      yield* Effect.yieldNow()
      const echoes = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => new Echo({ n: from + i }))
      // by the crash, chunks have grown (to their time budget): the one that holds it has more
      // behind it, and the next one is in flight too; both go back, together
      yield* supervisor.submitAll([...echoes(0, 150), new ExitRequest({ code: 1 }), ...echoes(150, 400)])
      yield* supervisor.awaitIdle
      expect(yield* supervisor.stats).toMatchObject({ succeeded: 400, failed: 1, restarts: 1 })
      // a poll: the outcomes stream delivers on its own fiber
      yield* Effect.sync(() => order.length).pipe(
        Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (n) => n === 400 })
      )
      expect(order).toEqual(Array.from({ length: 400 }, (_, i) => i))
    })))
})

describe("Threads: what the third review found", () => {
  it.live("a buffer moved already (views of one buffer in later messages) fails only its tasks: no thread dies of it", () =>
    Effect.gen(function*() {
      const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
      // Views of one buffer: the first message that carries one moves the whole buffer (views
      // in that message share it); a later message has nothing left to send, and its tasks end
      // Defect. Before, the thread that got such a message died of it, and so did every next
      // one (the tasks went back to the queue each time) until the supervisor escalated.
      const slices = [0, 2, 4, 6].map((at) => new Sum({ bytes: bytes.subarray(at, at + 2) }))
      const summary = yield* runSummed([...slices, new Echo({ n: 100 }), new Sum({ bytes })])
      expect(summary.stats).toMatchObject({ submitted: 6, restarts: 0 })
      expect(summary.stats.succeeded + summary.stats.defects).toBe(6)
      expect(summary.stats.succeeded).toBeGreaterThanOrEqual(2) // the first slice and the Echo
      const failed = new Set(summary.failures.map((failure) => failure.task))
      const sums = [3, 7, 11, 15].filter((_, i) => !failed.has(slices[i]!))
      expect(summary.state).toBe(100 + sums.reduce((a, b) => a + b, 0))
      for (const failure of summary.failures) {
        expect(failure._tag === "Defect" && String(failure.defect)).toContain("already transferred")
      }
    }))

  it.live("a reply that transfers a buffer it moved already is that task's Defect; the thread lives on", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Threads.resource(spec)
      const threadId = yield* thread.threadId
      expect(Array.from(yield* thread.execute(new Cached()))).toEqual([1, 2, 3])
      const second = yield* Effect.exit(thread.execute(new Cached()))
      const defect = Exit.isFailure(second) ? Cause.squash(second.cause) : undefined
      expect(defect).toMatchObject({ reason: "send" })
      expect(String((defect as { cause?: unknown }).cause)).toContain("already transferred")
      expect(yield* thread.execute(new Echo({ n: 1 }))).toBe(1)
      expect(yield* thread.threadId).toBe(threadId)
    })))

  it.live("a task with a handle waits for the chunks in flight: one task at a time on the thread", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({
        workers: 1,
        ...Threads.offload(spec),
        initial: 0,
        combine: (most: number, value) => Math.max(most, typeof value === "number" ? value : 0)
      })
      // measured tasks first, so that chunks grow
      yield* supervisor.submitAll(Array.from({ length: 50 }, () => new Hold({ ms: 0 })))
      yield* supervisor.awaitIdle
      yield* supervisor.pause
      yield* supervisor.submitAll(Array.from({ length: 200 }, () => new Hold({ ms: 0 })))
      const handle = yield* supervisor.submitWithHandle(new Hold({ ms: 30 }))
      yield* supervisor.submitAll(Array.from({ length: 10 }, () => new Hold({ ms: 0 })))
      yield* supervisor.resume
      expect((yield* handle.await)._tag).toBe("Success")
      yield* supervisor.awaitIdle
      expect(yield* supervisor.state).toBe(1)
      expect(yield* supervisor.stats).toMatchObject({ succeeded: 261 })
    })))
})

describe("Threads: what the fourth review found", () => {
  // a user's transformation that throws, in each place a task's data is turned over: the
  // payload decoded on the thread, the reply encoded there, the reply decoded here. Before,
  // the first two killed the thread or left the call unsettled, the last threw in the host's
  // message listener (an uncaught exception: plain node exits)
  const at = ["payload", "reply", "main"] as const
  const throwing = (where: typeof at[number]) => new Throws13({ at: where, payload: where === "payload" ? 13 : 1 })

  it.live("a transformation that throws is that call's defect; the thread carries on (sent alone)", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Threads.resource(spec)
      const id = yield* thread.threadId
      for (const where of at) {
        const exit = yield* Effect.exit(Effect.timeout(thread.execute(throwing(where)), "5 seconds"))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(yield* thread.execute(new Echo({ n: 1 }))).toBe(1)
      }
      expect(yield* thread.threadId).toBe(id)
    })))

  it.live("in a chunk: that task's Defect, the others succeed, nothing restarts", () =>
    Effect.gen(function*() {
      const tasks = at.flatMap((where) => [new Echo({ n: 1 }), throwing(where)])
      const summary = yield* Effect.timeout(runSummed([...tasks, new Echo({ n: 1 })]), "20 seconds")
      expect(summary.stats).toMatchObject({ succeeded: 4, defects: 3, restarts: 0 })
      expect(summary.state).toBe(4)
    }))

  it.live("a layerError schema whose decoding throws: ThreadStartFailed, and the scope closes", () =>
    Effect.gen(function*() {
      const throwingSchema = Schema.transform(Schema.Unknown, Schema.Unknown, {
        strict: true,
        decode: () => {
          throw new Error("layerError's decode threw")
        },
        encode: (value) => value
      })
      const typedLayerError = { ...spec, file: new URL("./fixtures/threads/typed-layer-error.ts", import.meta.url) }
      // before, the throw skipped the rest of the thread's exit listener: its exit never
      // resolved, and the scope's close waited for it for ever
      const error = yield* Effect.flip(
        Effect.timeout(
          Effect.scoped(Threads.resource({ ...typedLayerError, layerError: throwingSchema })),
          "10 seconds"
        )
      )
      expect(error).toBeInstanceOf(Errors.ThreadStartFailed)
    }))
})

describe("Threads: a bad spec", () => {
  it.live("is a typed InvalidOptions on acquisition (no thread starts), never a throw at the call", () =>
    Effect.gen(function*() {
      const duration = (sign: string) => `a finite duration ${sign} (e.g. "500 millis")`
      const cases: ReadonlyArray<readonly [object, string]> = [
        [{ grace: "abc" }, `grace must be ${duration(">= 0")}, got "abc"`],
        [{ grace: -5 }, `grace must be ${duration(">= 0")}, got -5`],
        [{ file: 42 }, "file must be a URL, a file: URL string or a path, got 42"],
        [{ file: "/no/such/worker.mjs" }, "file must be an existing file, got \"file:///no/such/worker.mjs\""],
        [
          { file: new URL("file:///no/such/worker.ts") },
          "file must be an existing file, got \"file:///no/such/worker.ts\""
        ],
        [{ startTimeout: -1 }, `startTimeout must be ${duration("> 0")}, got -1`],
        [{ startTimeout: 0 }, `startTimeout must be ${duration("> 0")}, got 0`],
        [
          { schema: "Request" },
          "schema must be a Schema (the union of the Schema.TaggedRequest classes), got \"Request\""
        ]
      ]
      for (const [fields, message] of cases) {
        const offloaded = Threads.offload({ ...spec, ...fields } as Threads.Spec<Request>)
        const error = yield* Effect.flip(Effect.scoped(offloaded.resource))
        expect(error).toEqual(new Errors.InvalidOptions({ message: `Threads spec: ${message}` }))
      }
      // under a supervisor the first acquisition fails, and invalid options escalate at once
      const escalated = yield* Effect.flip(Supervisor.run([new Echo({ n: 1 })], {
        workers: 1,
        ...Threads.offload({ ...spec, grace: "abc" as Duration.DurationInput })
      }))
      expect((escalated as Errors.Escalated).restarts).toBe(1)
      expect(escalated).toBeInstanceOf(Errors.Escalated)
      expect(Array.from(Cause.failures((escalated as Errors.Escalated).cause))).toEqual([
        new Errors.InvalidOptions({ message: `Threads spec: grace must be ${duration(">= 0")}, got "abc"` })
      ])
    }))
})

describe("Threads: under a supervisor", () => {
  it.live("process.exit(1) or an uncaught throw ends the task WorkerCrashed; the next runs on a fresh thread", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      // typed per request class, data-first and data-last: a number, Boom as Boom
      const echoed: number = yield* pipe(supervisor, Threads.execute(new Echo({ n: 3 })))
      expect(echoed).toBe(3)
      const caught = yield* Threads.execute(supervisor, new Fail({ reason: "typed" })).pipe(
        Effect.as("succeeded"),
        Effect.catchTag("Boom", (boom) => Effect.succeed(boom.reason))
      )
      expect(caught).toBe("typed")
      const before = yield* info(supervisor)
      const crashed = yield* Effect.flip(supervisor.execute(new ExitRequest({ code: 1 })))
      expect(crashed).toBeInstanceOf(Errors.WorkerCrashed)
      expect(crashed.message).toContain("exited with code 1")
      const after = yield* info(supervisor)
      expect(after.threadId).not.toBe(before.threadId)
      expect(after.count).toBe(1) // per-thread state was rebuilt on the new thread

      // an uncaught throw on the thread: the same, with the error as the cause
      const thrown = yield* Effect.flip(supervisor.execute(new Throw({ message: "uncaught!" })))
      expect(thrown).toBeInstanceOf(Errors.WorkerCrashed)
      expect(thrown.message).toContain("uncaught!")
      expect((yield* info(supervisor)).threadId).not.toBe(after.threadId)
      expect((yield* supervisor.stats).restarts).toBe(2)
    })))

  it.live("a thread that posts outside the protocol is broken: its task ends WorkerCrashed, the host carries on", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      // `null`, and a forged reply to the request in flight (id 0 on a fresh thread) whose kind
      // does not exist: each thread serves an Echo first, so every incarnation completes a task
      for (const messages of [[null, "more"], [[1, [1, 9, "forged"]]]]) {
        expect(yield* supervisor.execute(new Echo({ n: 5 }))).toBe(5)
        const crashed = yield* Effect.flip(supervisor.execute(new Stray({ messages })))
        expect(crashed).toBeInstanceOf(Errors.WorkerCrashed)
        expect(crashed.message).toContain("outside the protocol")
      }
      expect(yield* supervisor.execute(new Echo({ n: 6 }))).toBe(6)
      expect((yield* supervisor.stats).restarts).toBe(2)
    })))

  it.live("chunks on a thread: a crash fails only the task it was running, the ones sent behind it run on the next thread", () =>
    Effect.gen(function*() {
      const echoes = (ns: ReadonlyArray<number>): Array<Request> => ns.map((n) => new Echo({ n }))
      const poison = new ExitRequest({ code: 1 })
      // one worker, two chunks in flight on its thread: the thread dies on the fourth task, and
      // the tasks sent behind it, which it never began, go back to the queue and run on a fresh
      // thread (handed back as WorkerCrashed instead, the sum would miss them)
      const summary = yield* runSummed([...echoes([1, 2, 3]), poison, ...echoes([4, 5, 6])])
      expect(summary.state).toBe(21)
      expect(summary.stats.succeeded).toBe(6)
      expect(summary.stats.failed).toBe(1)
      expect(summary.stats.restarts).toBe(1)
      expect(summary.failures.map((failure) => failure.task)).toEqual([poison])
      expect(summary.failures[0]!._tag === "Failure" && summary.failures[0]!.error).toBeInstanceOf(Errors.WorkerCrashed)
    }))

  it.live("a chunk's sync, succeed, fail and throwing requests end in place on the thread, each with its own outcome", () =>
    Effect.gen(function*() {
      // sent as chunks (one worker, tiny tasks): each request of a chunk that is a `succeed`,
      // `fail` or `sync` runs without a fiber of its own on the thread; a thunk that throws is
      // that task's defect only
      const tasks: Array<Request> = [
        new Echo({ n: 1 }),
        new Throws({ message: "thunk threw" }),
        new Fail({ reason: "typed" }),
        new Echo({ n: 2 }),
        new Die({ message: "died" }),
        new Echo({ n: 3 })
      ]
      const summary = yield* runSummed(tasks)
      expect(summary.state).toBe(6)
      expect(summary.stats).toMatchObject({ succeeded: 3, failed: 1, defects: 2, restarts: 0 })
      const byTask = new Map(summary.failures.map((failure) => [failure.task, failure]))
      const thrown = byTask.get(tasks[1]!)!
      expect(thrown._tag === "Defect" && String(thrown.defect)).toContain("thunk threw")
      const failed = byTask.get(tasks[2]!)!
      expect(failed._tag === "Failure" && failed.error).toEqual(new Boom({ reason: "typed" }))
      const died = byTask.get(tasks[4]!)!
      expect(died._tag === "Defect" && String(died.defect)).toContain("died")
    }))

  it.live("a chunk's replies land without the worker's fiber: under half a run-loop op a task, every outcome counted", () =>
    Effect.gen(function*() {
      // Each reply records its task and sends the next chunk from the thread's message, while
      // the worker's fiber sleeps: counted through the tracer, which every run-loop op goes
      // through (a resumed fiber per chunk was ~26 ops a task)
      let ops = 0
      const base = yield* Effect.tracer
      const counting = Tracer.make({ span: (...args) => base.span(...args), context: (f) => (ops++, f()) })
      const tasks = Array.from({ length: 2000 }, (_, n) => new Echo({ n }))
      const summary = yield* Effect.scoped(Effect.gen(function*() {
        const supervisor = yield* Supervisor.make({
          workers: 1,
          ...Threads.offload(spec),
          initial: 0,
          combine: addNumbers
        })
        yield* supervisor.submitAll([new Echo({ n: 0 })])
        yield* supervisor.awaitIdle
        ops = 0
        yield* supervisor.submitAll(tasks)
        yield* supervisor.awaitIdle
        return { state: yield* supervisor.state, stats: yield* supervisor.stats }
      })).pipe(Effect.withTracer(counting))
      expect(summary.state).toBe((1999 * 2000) / 2)
      expect(summary.stats.succeeded).toBe(2001)
      expect(ops / tasks.length).toBeLessThan(0.5)
    }))

  it.live("pause, resize and shutdownNow while chunks are in flight: each task ends once, the fold agrees", () =>
    Effect.scoped(Effect.gen(function*() {
      // the landings of a worker's chunks send its next ones: pausing stops that at once (what is
      // in flight lands, nothing more is sent), a retiring worker stops after its flights, and
      // shutdownNow interrupts them on their threads
      const supervisor = yield* Supervisor.make({
        workers: 2,
        ...Threads.offload(spec),
        initial: { sum: 0, count: 0 },
        combine: (state: { sum: number; count: number }, value) => ({
          sum: state.sum + (typeof value === "number" ? value : 0),
          count: state.count + 1
        })
      })
      const batch = (from: number, size = 2000) => Array.from({ length: size }, (_, i) => new Echo({ n: from + i }))
      const idle = (s: Supervisor.Stats) => s.running === 0
      yield* supervisor.submitAll(batch(0))
      yield* running(supervisor)
      yield* supervisor.pause
      // a poll (the threads' real time), until what was in flight has landed
      yield* supervisor.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: idle }))
      const paused = yield* supervisor.stats
      expect(paused.queued).toBeGreaterThan(0)
      expect(paused.succeeded).toBeLessThan(2000)
      yield* supervisor.resume
      yield* supervisor.resize(1)
      yield* supervisor.submitAll(batch(2000))
      yield* supervisor.awaitIdle
      const drained = yield* supervisor.stats
      expect(drained.succeeded).toBe(4000)
      expect(yield* supervisor.state).toEqual({ sum: (3999 * 4000) / 2, count: 4000 })
      // within the capacity (1024): the Wait holds its thread, and what was sent behind it
      const last = [...batch(4000, 500), new Wait(), ...batch(4500, 500)]
      yield* supervisor.submitAll(last)
      yield* running(supervisor)
      const summary = yield* supervisor.shutdownNow
      const { stats } = summary
      expect(stats.submitted).toBe(5001)
      expect(stats.succeeded + stats.interrupted).toBe(5001)
      expect(stats.interrupted).toBeGreaterThan(0)
      expect(summary.state.count).toBe(stats.succeeded)
      expect(summary.pending.length).toBeLessThanOrEqual(stats.interrupted)
    })))

  it.live("a reply whose Schema decodes through an effect is decoded by the worker's fiber, in its chunk", () =>
    Effect.gen(function*() {
      const tasks: Array<Request> = [new Slow({ n: 1 }), new Echo({ n: 2 }), new Slow({ n: 3 }), new Slow({ n: 4 })]
      const summary = yield* runSummed(tasks)
      expect(summary.state).toBe(10)
      expect(summary.stats).toMatchObject({ succeeded: 4, failed: 0, defects: 0 })
    }))

  it.live("shutdownNow while a reply is still decoding in the worker's fiber: the task ends Interrupted, its caller returns", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      yield* supervisor.submitAll([new Echo({ n: 0 })])
      yield* supervisor.awaitIdle
      const caller = yield* Effect.fork(Threads.execute(supervisor, new Late({ n: 1 })))
      // real time: the thread replies at once and the reply decodes for 300 ms, so 100 ms lands
      // in the decode (on a slower box the stop may come first: the outcome is the same)
      yield* Effect.sleep("100 millis")
      const summary = yield* supervisor.shutdownNow
      expect(summary.stats).toMatchObject({ submitted: 2, succeeded: 1, interrupted: 1, running: 0 })
      const exit = yield* Fiber.await(caller)
      expect(Exit.isFailure(exit) && Cause.isFailure(exit.cause)).toBe(true)
    })))

  it.live("a request whose Schema encoding throws: its chunk is a defect the worker restarts on, every task ends once", () =>
    Effect.gen(function*() {
      // first taken by the fiber, then by a landing (behind four echoes): the same outcome
      for (
        const tasks of [
          [new Touchy({ n: 13 }), new Echo({ n: 1 })],
          [...[1, 2, 3, 4].map((n) => new Echo({ n })), new Touchy({ n: 13 }), new Echo({ n: 5 })]
        ]
      ) {
        const summary = yield* runSummed(tasks)
        const { stats } = summary
        expect(stats.succeeded + stats.failed + stats.defects + stats.interrupted).toBe(tasks.length)
        expect(stats.restarts).toBe(1)
      }
    }))

  it.live("shutdownNow interrupts a chunk on its thread: the running task is interrupted, the queued ones are pending", () =>
    Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ workers: 1, ...Threads.offload(spec) })
      const waiting = new Wait()
      const queued = [new Echo({ n: 1 }), new Echo({ n: 2 })]
      yield* supervisor.submitAll([waiting, ...queued])
      yield* running(supervisor)
      const [summary, elapsed] = yield* timed(supervisor.shutdownNow)
      expect(summary.pending).toEqual(queued)
      expect(summary.stats.interrupted).toBe(3)
      expect(summary.stats.succeeded).toBe(0)
      // the Wait answered its interrupt: no thread was terminated after grace
      expect(elapsed).toBeLessThan(grace)
    })))

  it.live("a crash loop escalates", () =>
    Effect.gen(function*() {
      const escalated = yield* Effect.flip(Supervisor.run(
        Array.from({ length: 10 }, () => new ExitRequest({ code: 1 })),
        {
          workers: 1,
          ...Threads.offload(spec),
          restart: Restart.policy({ backoff: Schedule.spaced("1 millis"), maxRestarts: 2, within: "1 minute" })
        }
      ))
      expect(escalated).toBeInstanceOf(Errors.Escalated)
    }))

  it.live("a CPU busy loop times out and its thread is terminated within grace, then replaced", () =>
    Effect.scoped(Effect.gen(function*() {
      const acquired = yield* Deferred.make<Threads.Thread<Request>>()
      const { handler, resource } = Threads.offload(spec)
      const timeout = 200
      const supervisor = yield* Supervisor.make({
        workers: 1,
        handler,
        resource: Effect.tap(resource, (thread) => Deferred.succeed(acquired, thread)),
        timeout: `${timeout} millis`
      })
      const thread = yield* Deferred.await(acquired)
      const before = yield* thread.threadId
      const [error, elapsed] = yield* timed(Effect.flip(supervisor.execute(new Spin())))
      expect(error).toBeInstanceOf(Errors.TaskTimeout)
      expect(elapsed).toBeLessThan(timeout + grace + 1000)
      const after = yield* thread.threadId
      expect(after).not.toBe(before)
      // the new thread built its own per-thread state
      expect(yield* thread.execute(new Info())).toEqual({ threadId: after, count: 1, interrupted: 0 })
      expect((yield* supervisor.stats).restarts).toBe(0) // replaced in place: nothing crashed
    })))

  it.live("closing the supervisor with a spinning thread takes no longer than grace", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const supervisor = yield* Scope.extend(Supervisor.make({ workers: 1, ...Threads.offload(spec) }), scope)
      yield* Effect.fork(supervisor.execute(new Spin()))
      yield* running(supervisor)
      const [, elapsed] = yield* timed(Scope.close(scope, Exit.void))
      expect(elapsed).toBeLessThan(grace + 1000) // platform-node alone would wait 5 s
    }))
})

describe("examples/checksums.ts", () => {
  const files: Record<string, string | Uint8Array> = {
    "a.txt": "hello\n",
    "empty": "",
    "nested/deeper/b.bin": new Uint8Array(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256)),
    "with space.md": "# title\n",
    // names sha256sum escapes (and marks the line with a leading backslash)
    "new\nline": "n\n",
    "back\\slash": "b\n",
    "cr\rx": "r\n",
    // hashed too: a directory given is hashed whole
    "node_modules/m/index.js": "export {}\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    "packages/x/dist/out.js": "1\n"
  }
  const makeTree = Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "checksums-"))
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(join(dir, name, ".."), { recursive: true })
        writeFileSync(join(dir, name), content)
      }
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const sha256sum = (names: ReadonlyArray<string>) =>
    names.map((name) => {
      const hex = createHash("sha256").update(files[name]!).digest("hex")
      const escaped = name.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
      return escaped === name ? `${hex}  ${name}\n` : `\\${hex}  ${escaped}\n`
    }).join("")
  const sorted = Object.keys(files).sort()

  it.live(
    "prints what sha256sum prints, for the whole directory; --skip leaves names out",
    () =>
      Effect.gen(function*() {
        const dir = yield* makeTree
        expect(yield* run("sha256sum", sorted, dir)).toBe(sha256sum(sorted))
        const [whole, skipped] = yield* Effect.all([
          demo([dir, "--threads", "2", "--progress"]),
          demo([dir, "--threads", "1", "--skip", "node_modules,.git,dist"])
        ], { concurrency: "unbounded" })
        expect(whole.code).toBe(0)
        expect(whole.stdout).toBe(sha256sum(sorted))
        expect(whole.stderr).toContain(`scanning: `)
        expect(whole.stderr).toContain(`/${sorted.length} files`) // the hashing bar
        expect(whole.stderr).toMatch(
          new RegExp(`hashed ${sorted.length} of ${sorted.length} files .* on 2 threads, 0 failed`)
        )
        const kept = sorted.filter((name) => !/(^|\/)(node_modules|\.git|dist)\//.test(name))
        expect(skipped.stdout).toBe(sha256sum(kept))
        expect(skipped.stderr).toMatch(
          new RegExp(`hashed ${kept.length} of ${kept.length} files .* on 1 thread, 0 failed\n$`)
        )
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "the bundle `npm run demo` runs (scripts/build-demo.mjs) prints the same, on its bundled worker file",
    () =>
      Effect.gen(function*() {
        const dir = yield* makeTree
        const out = yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "checksums-bundle-"))),
          (out) => Effect.sync(() => rmSync(out, { recursive: true, force: true }))
        )
        const script = fileURLToPath(new URL("../scripts/build-demo.mjs", import.meta.url))
        yield* run(process.execPath, [script, "--source", "--outdir", out], dir)
        const bundled = yield* demo([dir, "--threads", "2"], undefined, join(out, "checksums.mjs"))
        expect(bundled).toEqual({
          code: 0,
          stdout: sha256sum(sorted),
          stderr: expect.stringMatching(
            new RegExp(`^hashed ${sorted.length} of ${sorted.length} files .* on 2 threads, 0 failed\n$`)
          )
        })
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "bad arguments print the usage; a missing directory is reported before any thread starts",
    () =>
      Effect.gen(function*() {
        const missing = join(tmpdir(), "checksums-no-such-directory")
        const [badThreads, unknown, absent] = yield* Effect.all([
          demo(["--threads", "abc"]),
          demo(["--fast"]),
          demo([missing])
        ], { concurrency: "unbounded" })
        const usage = "usage: checksums [dir] [--threads n] [--skip name,...] [--progress]\n"
        expect(badThreads).toEqual({
          code: 2,
          stdout: "",
          stderr: `checksums: --threads must be an integer >= 1, got "abc"\n${usage}`
        })
        expect(unknown).toEqual({ code: 2, stdout: "", stderr: `checksums: unknown option --fast\n${usage}` })
        // nothing else is printed: no scan, no thread, no summary
        expect(absent).toEqual({ code: 1, stdout: "", stderr: `checksums: ${missing}: no such directory\n` })
      }),
    60_000
  )

  it.live("SIGTERM exits 143 and SIGINT 130, after printing the partial summary", () =>
    Effect.gen(function*() {
      const dir = yield* makeTree
      // the signal lands while hashing: the bar is drawn from the moment the threads start
      const [term, int] = yield* Effect.all([
        demo([dir, "--progress"], { signal: "SIGTERM", after: "files " }),
        demo([dir, "--progress"], { signal: "SIGINT", after: "files " })
      ], { concurrency: "unbounded" })
      expect(term.code).toBe(143)
      expect(term.stderr).toMatch(/interrupted: hashed \d+ of 10 files/)
      expect(int.code).toBe(130)
      expect(int.stderr).toMatch(/interrupted: hashed \d+ of 10 files/)
    }).pipe(Effect.scoped), 60_000)
})

const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.async<string, Error>((resume) => {
    execFile(command, args, { cwd }, (error, stdout) => resume(error ? Effect.fail(error) : Effect.succeed(stdout)))
  })

/**
 * Runs the demo in a child process (bounded: killed after 40 s); with `signal`, sends it once
 * stderr shows `after`. Resolves with the exit code and both outputs. From source under tsx,
 * or the `bundle` given (a .mjs file, plain node).
 */
const demo = (
  args: ReadonlyArray<string>,
  kill?: { readonly signal: NodeJS.Signals; readonly after: string },
  bundle?: string
) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const entry = bundle ?? fileURLToPath(new URL("../examples/checksums.ts", import.meta.url))
    const loader = bundle === undefined ? ["--import", "tsx"] : []
    const child = spawn(process.execPath, [...loader, entry, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let signalled = false
    // a real-time bound on a real child process, so a hang fails the test instead of stalling it
    const limit = setTimeout(() => child.kill("SIGKILL"), 40_000)
    child.stdout.on("data", (data) => stdout += data)
    child.stderr.on("data", (data) => {
      stderr += data
      if (kill !== undefined && !signalled && stderr.includes(kill.after)) {
        signalled = true
        child.kill(kill.signal)
      }
    })
    child.on("close", (code) => {
      clearTimeout(limit)
      resume(Effect.succeed({ code, stdout, stderr }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })
