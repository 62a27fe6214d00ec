/**
 * The seed program: 100 numbers, 5 workers, each worker squares its numbers and the
 * supervisor folds the squares into one sum. With `--verbose` each worker says what it did
 * (workers numbered from 1, as in the Go seed; `Supervisor.WorkerInfo` counts from 0).
 *
 *   npx tsx examples/sum-of-squares.ts [--verbose]   →   Sum of squares: 338350
 */
import { Console, Effect } from "effect"
import { Supervisor } from "effect-supervisor"

const verbose = process.argv.includes("--verbose")
const items = Array.from({ length: 100 }, (_, i) => i + 1)

const square = (n: number) =>
  Effect.gen(function*() {
    // stands in for real work: while one job waits, the other workers take theirs
    yield* Effect.sleep("10 millis")
    if (verbose) {
      const worker = yield* Supervisor.WorkerInfo
      yield* Console.log(`Worker ${worker.id + 1} processed job ${n}: ${n} -> ${n * n}`)
    }
    return n * n
  })

const program = Effect.gen(function*() {
  const summary = yield* Supervisor.run(items, {
    workers: 5,
    handler: square,
    initial: 0,
    combine: (sum, squared) => sum + squared
  })
  yield* Console.log(`Sum of squares: ${summary.state}`)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
