/**
 * Per-tenant fairness: a noisy tenant queues 200 jobs, then a quiet tenant submits one.
 * Keys are served round-robin, so the quiet job starts within one rotation instead of after
 * the 200; `perKey: 2` keeps the noisy tenant to two jobs at a time.
 *
 *   npx tsx examples/fair-tenants.ts
 */
import { Console, Effect } from "effect"
import { Supervisor } from "effect-supervisor"

interface Job {
  readonly tenant: string
  readonly id: number
}

const program = Effect.scoped(
  Effect.gen(function*() {
    const started: Array<string> = []
    const jobs = yield* Supervisor.make({
      workers: 4,
      key: (job: Job) => job.tenant,
      perKey: 2,
      handler: (job: Job) =>
        Effect.sync(() => started.push(`${job.tenant}#${job.id}`)).pipe(Effect.zipRight(Effect.sleep("2 millis")))
    })
    yield* jobs.submitAll(Array.from({ length: 200 }, (_, id) => ({ tenant: "noisy", id })))
    yield* jobs.submit({ tenant: "quiet", id: 0 })
    const summary = yield* jobs.shutdown
    const position = started.indexOf("quiet#0")
    yield* Console.log(`first starts: ${started.slice(0, 5).join(", ")}`)
    yield* Console.log(
      `quiet#0 started ${position + 1}${
        position === 0 ? "st" : position === 1 ? "nd" : position === 2 ? "rd" : "th"
      } of ${started.length}`
    )
    yield* Console.log(`${summary.stats.succeeded} jobs succeeded`)
  })
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
