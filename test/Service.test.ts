import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Exit, Fiber, Scope, TestClock, Tracer } from "effect"
import { Supervisor } from "effect-supervisor"

describe("WorkerInfo", () => {
  it.effect("handlers and resources see which worker runs them, stable across restarts", () =>
    Effect.gen(function*() {
      const acquiredBy: Array<string> = []
      const summary = yield* Supervisor.run(Array.from({ length: 10 }, (_, i) => i + 1), {
        workers: 3,
        resource: Effect.map(Supervisor.WorkerInfo, (w) => {
          acquiredBy.push(`${w.id}/${w.incarnation}`)
          return `conn-${w.id}`
        }),
        handler: (n: number, conn: string) => Effect.map(Supervisor.WorkerInfo, (w) => ({ n, worker: w.id, conn })),
        initial: [] as Array<{ n: number; worker: number; conn: string }>,
        combine: (all, r) => [...all, r]
      })
      expect(acquiredBy.sort()).toEqual(["0/0", "1/0", "2/0"])
      expect(summary.state.map((r) => r.n).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      for (const r of summary.state) expect(r.conn).toBe(`conn-${r.worker}`)
    }))
})

describe("drain on scope close", () => {
  const setup = (drain: Duration.DurationInput) =>
    Effect.gen(function*() {
      const ended: Array<string> = []
      const scope = yield* Scope.make()
      const sup = yield* Scope.extend(
        Supervisor.make({
          workers: 1,
          drain,
          handler: (millis: number) =>
            Effect.sleep(millis).pipe(
              Effect.zipRight(Effect.sync(() => ended.push(`done ${millis}`))),
              Effect.onInterrupt(() => Effect.sync(() => ended.push(`interrupted ${millis}`)))
            )
        }),
        scope
      )
      yield* sup.submitAll([100, 200, 5000])
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      return { closing, ended, sup }
    })

  it.effect("drains gracefully up to the deadline, then interrupts the rest", () =>
    Effect.gen(function*() {
      const { closing, ended, sup } = yield* setup("1 second")
      expect(yield* sup.submit(1).pipe(Effect.flip)).toMatchObject({ _tag: "SupervisorClosed" })
      yield* TestClock.adjust("999 millis")
      expect(closing.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      expect(ended).toEqual(["done 100", "done 200", "interrupted 5000"])
      expect(yield* sup.stats).toMatchObject({ succeeded: 2, interrupted: 1, running: 0 })
    }))

  it.effect("a task still queued at the deadline ends Interrupted without running", () =>
    Effect.gen(function*() {
      const { closing, ended, sup } = yield* setup("150 millis")
      // at 150: 100 is done, 200 is running, 5000 has not started
      yield* TestClock.adjust("150 millis")
      yield* Fiber.join(closing)
      expect(ended).toEqual(["done 100", "interrupted 200"])
      expect(yield* sup.stats).toMatchObject({ submitted: 3, succeeded: 1, interrupted: 2, running: 0, queued: 0 })
    }))

  it.effect("a drain that finishes early closes at once", () =>
    Effect.gen(function*() {
      const { closing, ended } = yield* setup("1 minute")
      yield* TestClock.adjust("5300 millis")
      yield* Fiber.join(closing)
      expect(ended).toEqual(["done 100", "done 200", "done 5000"])
    }))
})

describe("describe", () => {
  it.effect("puts a readable task identity on the task's span", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.Span> = []
      const native = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (...args) => {
          const span = native.span(...args)
          spans.push(span)
          return span
        },
        context: (f, fiber) => native.context(f, fiber)
      })
      yield* Supervisor.run([7], {
        workers: 1,
        name: "emails",
        describe: (n: number) => `email #${n}`,
        handler: (n: number) => Effect.succeed(n)
      }).pipe(Effect.withTracer(tracer))
      const span = spans.find((s) => s.name === "emails.task")!
      expect(span.attributes.get("supervisor.task")).toBe("email #7")
    }))
})
