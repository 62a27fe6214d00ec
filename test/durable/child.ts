/**
 * A consumer process for the crash tests: prints `start <id> <attempt>` when a job starts and
 * `done <id>` when its handler ends (before the acknowledgement is written).
 *
 * argv: <sqlite|pg> <file or table> <workers> <prefetch|auto> <lease ms> <job ms>
 */
import { Effect, Layer, Schema } from "effect"
import { Supervisor } from "effect-supervisor"
import { Durable } from "effect-supervisor/durable"
import { pgUrl } from "./backends.js"

const [backend, where, workers, prefetch, lease, jobMillis] = process.argv.slice(2)

export const CrashJobs = (leaseMillis: number) =>
  Durable.queue("crash", {
    task: Schema.Number,
    success: Schema.Void,
    failure: Schema.Never,
    maxAttempts: 5,
    lease: leaseMillis
  })

const store = backend === "pg" ? Durable.layerPg({ url: pgUrl, table: where }) : Durable.layerSqlite({ file: where })

const write = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

const program = Effect.gen(function*() {
  yield* Supervisor.make({
    queue: CrashJobs(Number(lease)),
    workers: Number(workers),
    ...(prefetch === "auto" ? {} : { prefetch: Number(prefetch) }),
    timeout: "30 seconds",
    handler: (_n, ctx) =>
      Effect.zipRight(
        write(`start ${ctx.id} ${ctx.attempt}`),
        Effect.zipRight(Effect.sleep(Number(jobMillis)), write(`done ${ctx.id}`))
      )
  })
  yield* write("ready")
  return yield* Effect.never
})

if (backend !== undefined) {
  Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(Layer.orDie(store)))).catch((error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
}
