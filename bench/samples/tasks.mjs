// The work every thread variant does, in plain JS so piscina/tinypool/raw threads load it
// without a TS loader. echo returns its input; fib is the naive CPU-bound recursion.
export const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2))

export const perform = (kind, x) => (kind === "echo" ? x : fib(x))
