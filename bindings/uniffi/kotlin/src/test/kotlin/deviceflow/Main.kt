package deviceflow

import java.io.File
import kotlinx.coroutines.runBlocking

/** A plain test runner (no JUnit here): prints one line per check and `N passed, N failed` last. */
class Checks {
    var passed = 0
    var failed = 0

    fun check(name: String, body: suspend () -> Unit) {
        val t0 = System.nanoTime()
        try {
            runBlocking { body() }
            passed++
            println("ok    $name (${(System.nanoTime() - t0) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL  $name: $e")
            if (e !is AssertionError) e.stackTrace.take(6).forEach { println("        at $it") }
        }
    }
}

fun expect(cond: Boolean, what: () -> String) {
    if (!cond) throw AssertionError(what())
}

inline fun <reified E : Throwable> expectThrows(body: () -> Unit): E {
    try {
        body()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing thrown")
}

/** Usage: MainKt <repo root> [--no-e2e] [--no-hostile] | MainKt <repo root> --android-e2e */
fun main(args: Array<String>) {
    val root = File(args.getOrElse(0) { "." }).absoluteFile
    val checks = Checks()
    if ("--android-e2e" in args) {
        // Against the Android source set's classes (tests/suites/kotlin.sh): see E2e.android.
        E2e.android(checks, root)
        println("android source set: ${checks.passed} passed, ${checks.failed} failed")
        System.exit(if (checks.failed == 0 && checks.passed > 0) 0 else 1)
    }

    val files = Vectors.files(File(root, "tests/vectors")) + Vectors.files(File(root, "tests/vectors/dpop"))
    checks.check("at least one vector found (${files.size})") { expect(files.isNotEmpty()) { "no vectors" } }
    for (file in files) {
        val vector = Json.parse(file.readText()) as Map<String, Any?>
        checks.check("vector ${file.name}") {
            Vectors.run(vector)?.let { throw AssertionError("${vector["name"]}: $it") }
        }
    }

    Unit.run { UnitChecks.all(checks) }
    DpopChecks.all(checks)
    if ("--no-e2e" !in args) E2e.all(checks, root)
    if ("--no-e2e" !in args) E2eDpop.all(checks, root)
    if ("--no-hostile" !in args) Hostile.all(checks, root)

    println("${checks.passed} passed, ${checks.failed} failed")
    System.exit(if (checks.failed == 0 && checks.passed > 0) 0 else 1)
}
