/**
 * One regression test per defect found by the second adversarial review (after "Nothing lost,
 * nothing hangs"), in-process part. Each failed before its fix.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Schedule, TestClock } from "effect"
import { Errors, Supervisor } from "effect-supervisor"
import { gauge, histogram } from "./support/metrics.js"

const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("a per-task finalizer that dies", () => {
  it.effect("is a Defect of that task; the worker carries on, nothing restarts or escalates", () =>
    Effect.gen(function*() {
      const tasks = Array.from({ length: 10 }, (_, i) => i)
      const fiber = yield* Effect.fork(Supervisor.run(tasks, {
        workers: 1,
        handler: (n: number) => Effect.acquireRelease(Effect.succeed(n), () => Effect.die("release died"))
      }))
      yield* TestClock.adjust("1 minute")
      const summary = yield* Fiber.join(fiber)
      expect(summary.stats).toMatchObject({ submitted: 10, defects: 10, succeeded: 0, restarts: 0 })
      expect(summary.failures.map((failure) => [failure._tag, failure.task])).toEqual(
        tasks.map((task) => ["Defect", task])
      )
      expect(summary.failures.map((failure) => failure._tag === "Defect" && failure.defect)).toEqual(
        tasks.map(() => "release died")
      )
    }))

  it.effect("after a typed failure, the outcome is the Defect, with both in its cause", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run([1], {
        workers: 1,
        handler: (_: number) =>
          Effect.zipRight(Effect.acquireRelease(Effect.void, () => Effect.die("release died")), Effect.fail("no"))
      })
      const [outcome] = summary.failures
      expect(outcome?._tag).toBe("Defect")
      expect(outcome?._tag === "Defect" && outcome.defect).toBe("release died")
      expect(summary.stats).toMatchObject({ defects: 1, failed: 0, restarts: 0 })
    }))
})

describe("waiters see a task's finalizers done", () => {
  it.effect("execute, a handle's await and awaitIdle return only once the task's scope has closed", () =>
    Effect.scoped(Effect.gen(function*() {
      const order: Array<string> = []
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) =>
          Effect.as(
            Effect.acquireRelease(
              Effect.void,
              () => Effect.zipRight(Effect.sleep("1 second"), Effect.sync(() => order.push(`released ${n}`)))
            ),
            n
          )
      })
      const executed = yield* Effect.fork(Effect.tap(sup.execute(1), () => Effect.sync(() => order.push("executed"))))
      yield* settle
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(executed)).toBe(1)
      const handle = yield* sup.submitWithHandle(2)
      const awaited = yield* Effect.fork(Effect.tap(handle.await, () => Effect.sync(() => order.push("awaited"))))
      yield* sup.submit(3)
      const idle = yield* Effect.fork(Effect.tap(sup.awaitIdle, () => Effect.sync(() => order.push("idle"))))
      yield* settle
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(awaited))._tag).toBe("Success")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(idle)
      expect(order).toEqual(["released 1", "executed", "released 2", "awaited", "released 3", "idle"])
    })))

  it.effect("execute of a task whose finalizer dies fails with that defect", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) => Effect.acquireRelease(Effect.succeed(n), () => Effect.die("release died"))
      })
      const exit = yield* Effect.exit(sup.execute(1))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBe("release died")
      // the worker that ran it runs the next one
      expect(yield* sup.stats).toMatchObject({ defects: 1, restarts: 0 })
    })))
})

describe("a task's finalizer time", () => {
  it.effect("is its own duration, and the next task's start is read after it", () =>
    Effect.gen(function*() {
      const name = "finalizer-time"
      const fiber = yield* Effect.fork(Supervisor.run([0, 1], {
        workers: 1,
        name,
        handler: (n: number) =>
          n === 0
            ? Effect.acquireRelease(Effect.void, () => Effect.sleep("1 second"))
            : Effect.sleep("10 millis")
      }))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      const duration = yield* histogram(name, "supervisor_task_duration_ms")
      expect([duration.count, duration.min, duration.max]).toEqual([2, 10, 1000])
      // task 1 waited in the queue while task 0's finalizer ran
      const queued = yield* histogram(name, "supervisor_task_queued_ms")
      expect(queued.max).toBe(1000)
    }))
})

describe("a producer waiting for room", () => {
  it.effect("wakes for fewer free slots than a batch: slow tasks do not leave it waiting", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 4,
        capacity: 1024,
        handler: (n: number) => Effect.as(Effect.sleep("1 minute"), n)
      })
      // four start at once, so all 1028 fit: 4 running, 1024 queued
      yield* sup.submitAll(Array.from({ length: 1028 }, (_, i) => i))
      expect(yield* sup.stats).toMatchObject({ submitted: 1028, running: 4, queued: 1024 })
    })))

  it.effect("is not deadlocked by a task that waits for what the producer does after submitting", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const sup = yield* Supervisor.make({
        workers: 1,
        capacity: 8,
        handler: (n: number) => n === 0 ? Effect.as(Deferred.await(gate), n) : Effect.succeed(n)
      })
      // task 0 runs (its slot free) and 8 wait: every slot is needed
      yield* sup.submitAll(Array.from({ length: 9 }, (_, i) => i))
      yield* Deferred.succeed(gate, undefined)
      yield* sup.awaitIdle
      expect(yield* sup.stats).toMatchObject({ submitted: 9, succeeded: 9 })
    })))
})

describe("what a third review found", () => {
  it.effect("interrupting execute of a task that waits for a rate-limit permit: its handler never runs", () =>
    Effect.scoped(Effect.gen(function*() {
      const called: Array<number> = []
      const sup = yield* Supervisor.make({
        workers: 2,
        rateLimit: { limit: 1, interval: "10 seconds" },
        handler: (n: number) => Effect.sync(() => called.push(n))
      })
      yield* Effect.fork(sup.execute(1)) // takes the only permit
      const caller = yield* Effect.fork(sup.execute(2)) // taken by the other worker: waits for one
      yield* settle
      yield* Fiber.interrupt(caller)
      yield* TestClock.adjust("30 seconds")
      yield* sup.awaitIdle
      expect(called).toEqual([1])
      expect(yield* sup.stats).toMatchObject({ succeeded: 1, interrupted: 1, running: 0 })
      expect((yield* sup.shutdown).pending).toEqual([]) // cancelled, not pending
    })))

  it.effect("retries count for a task whose combine throws", () =>
    Effect.scoped(Effect.gen(function*() {
      let calls = 0
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) => Effect.suspend(() => ++calls === 1 ? Effect.fail("again") : Effect.succeed(n)),
        retry: Schedule.recurs(3),
        initial: 0,
        combine: (): number => {
          throw new Error("combine threw")
        }
      })
      yield* Effect.exit(sup.execute(1))
      expect(yield* sup.stats).toMatchObject({ defects: 1, retries: 1 })
    })))

  it.effect("a key or priority that throws for one task makes it a Defect; run returns its Summary", () =>
    Effect.gen(function*() {
      const ran: Array<number> = []
      const handler = (n: number) => Effect.sync(() => ran.push(n))
      const byKey = yield* Supervisor.run([1, 2, 3, 4, 5], {
        workers: 2,
        key: (n: number) => {
          if (n === 3) throw new Error("no key for 3")
          return "k"
        },
        handler
      })
      const byPriority = yield* Supervisor.run([1, 2, 3, 4, 5], {
        workers: 2,
        priority: (n: number) => {
          if (n === 3) throw new Error("no priority for 3")
          return n
        },
        handler
      })
      for (const summary of [byKey, byPriority]) {
        expect(summary.stats).toMatchObject({ submitted: 5, succeeded: 4, defects: 1 })
        expect(summary.failures.map((failure) => [failure._tag, failure.task])).toEqual([["Defect", 3]])
      }
      expect(ran.sort()).toEqual([1, 1, 2, 2, 4, 4, 5, 5])
    }))

  it.effect("supervisors that share a name add up in its gauges, as in its counters", () =>
    Effect.scoped(Effect.gen(function*() {
      const name = "shared-name"
      const a = yield* Supervisor.make({
        workers: 1,
        name,
        spans: false,
        handler: (n: number) => Effect.as(Effect.never, n)
      })
      const b = yield* Supervisor.make({ workers: 1, name, spans: false, handler: (n: number) => Effect.succeed(n) })
      yield* a.submitAll([1, 2, 3, 4, 5])
      yield* settle
      // `stats` brings a supervisor's series up to date; before, b's wrote its own 0 over a's 4
      expect(yield* a.stats).toMatchObject({ queued: 4, running: 1 })
      yield* b.execute(1)
      yield* b.stats
      expect(yield* gauge(name, "supervisor_tasks_queued")).toBe(4)
      expect(yield* gauge(name, "supervisor_tasks_running")).toBe(1)
    })))

  it.effect("an ensuring of the handler's that dies makes a typed failure a Defect, never retried; a timeout stays a Timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      for (const retry of [undefined, Schedule.recurs(2)]) {
        let calls = 0
        const failing = yield* Supervisor.make({
          workers: 1,
          ...(retry === undefined ? {} : { retry }),
          handler: (n: number) =>
            Effect.ensuring(Effect.as(Effect.suspend(() => (calls++, Effect.fail("typed"))), n), Effect.die("died"))
        })
        const exit = yield* Effect.exit(failing.execute(7))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(calls).toBe(1)
        expect(yield* failing.stats).toMatchObject({ defects: 1, failed: 0, retries: 0 })
        // settled semantics: a Timeout whatever the attempt does after its deadline, dying while
        // it is interrupted included (and retried like any Timeout)
        const timedOut = yield* Supervisor.make({
          workers: 1,
          timeout: "1 second",
          handler: (n: number) => Effect.ensuring(Effect.as(Effect.sleep("10 seconds"), n), Effect.die("died"))
        })
        const timing = yield* Effect.fork(Effect.flip(timedOut.execute(7)))
        yield* TestClock.adjust("5 seconds")
        expect(yield* Fiber.join(timing)).toBeInstanceOf(Errors.TaskTimeout)
        expect(yield* timedOut.stats).toMatchObject({ failed: 1, timeouts: 1, defects: 0 })
      }
    })))
})
