// mobile-core through its generated Kotlin bindings, on the JVM, against a real
// `kvo serve` — what an Android app does, minus Android. Kept thin: the
// behaviour is tested in Rust (mobile-core/tests/sync.rs); this checks that
// the bindings carry it into Kotlin. Run by `scripts/kotlin-test`.
import uniffi.mobile_core.*
import java.io.ByteArrayOutputStream
import java.nio.file.Files
import java.time.Instant
import javax.imageio.ImageIO
import java.awt.image.BufferedImage
import kotlin.system.exitProcess

val server: String = System.getenv("KVO_URL") ?: error("KVO_URL")
val ondernemerInvite: String = System.getenv("KVO_INVITE_ONDERNEMER") ?: error("KVO_INVITE_ONDERNEMER")
val beveiligerInvite: String = System.getenv("KVO_INVITE_BEVEILIGER") ?: error("KVO_INVITE_BEVEILIGER")
/** The tag of a checkpoint at (KVO_LAT, KVO_LON), registered with `kvo checkpoint add`. */
val checkpointTag: String = System.getenv("KVO_CHECKPOINT") ?: error("KVO_CHECKPOINT")
val lat: Double = System.getenv("KVO_LAT")!!.toDouble()
val lon: Double = System.getenv("KVO_LON")!!.toDouble()
/** A loopback port nothing listens on: the network is "down". */
val unreachable: String = System.getenv("KVO_UNREACHABLE") ?: error("KVO_UNREACHABLE")

var failures = 0
fun test(name: String, body: () -> Unit) {
    val started = System.nanoTime()
    try {
        body()
        println("ok   $name (${(System.nanoTime() - started) / 1_000_000} ms)")
    } catch (e: Throwable) {
        failures++
        println("FAIL $name\n     $e")
        e.stackTrace.take(6).forEach { println("       at $it") }
    }
}

fun check(condition: Boolean, message: () -> String) { if (!condition) throw AssertionError(message()) }

inline fun <reified E : Throwable> expect(body: () -> Unit): E {
    try { body() } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

fun photo(width: Int, height: Int): ByteArray {
    val img = BufferedImage(width, height, BufferedImage.TYPE_INT_RGB)
    for (y in 0 until height) for (x in 0 until width) img.setRGB(x, y, (x * 255 / width shl 16) or (y * 255 / height shl 8) or 0x40)
    return ByteArrayOutputStream().also { ImageIO.write(img, "jpg", it) }.toByteArray()
}

fun draft(description: String, la: Double = lat, lo: Double = lon) =
    ReportDraft("graffiti", GeoFix(la, lo, 8.0), Instant.now().minusSeconds(60), description)

fun tempDir(): String = Files.createTempDirectory("kvo-kotlin-").toString()

/** The phone's secure storage (the Android Keystore in the app), implemented in Kotlin. */
class Keychain : SecretStore {
    private val secrets = java.util.concurrent.ConcurrentHashMap<String, String>()
    override fun load(key: String): String? = secrets[key]
    override fun save(key: String, value: String?): Boolean {
        if (value == null) secrets.remove(key) else secrets[key] = value
        return true
    }
}

/** One keychain per phone (data directory), as on real phones. */
val keychains = java.util.concurrent.ConcurrentHashMap<String, Keychain>()

fun open(dir: String, url: String): KvoClient = KvoClient.open(dir, url, keychains.getOrPut(dir) { Keychain() })

fun main() {
    val data = tempDir()
    lateinit var reportId: String

    test("open a client and redeem an invite") {
        val client = open(data, server)
        val session = client.redeemInvite(ondernemerInvite, "Bakkerij Kotlin", "JVM")
        check(session.role == Role.ONDERNEMER) { "role ${session.role}" }
        check(client.session()?.areaId == session.areaId) { "the session is kept" }
        check(keychains[data]?.load("kvo.device_token")?.startsWith("kvod_") == true) { "the token is in the Kotlin keychain" }
        client.destroy()
    }

    test("categories come down once, then 304") {
        val client = open(data, server)
        check(client.refreshCategories()) { "first refresh changes" }
        check(!client.refreshCategories()) { "unchanged: 304 with the cached ETag" }
        check(client.categories().any { it.code == "graffiti" }) { "graffiti offered" }
        client.destroy()
    }

    test("a report with a photo made offline waits, then syncs with progress from the core's thread") {
        val offline = open(data, unreachable)
        val report = offline.createReport(draft("Graffiti op de gevel, gemeld vanuit Kotlin"))
        reportId = report.id
        val attached = offline.attachPhoto(report.id, photo(1200, 900))
        check(attached.photo.width == 1200u && attached.photo.height == 900u) { "prepared ${attached.photo.width}x${attached.photo.height}" }
        val state = offline.sync(2_000uL, null)
        check(state.sent == 0uL && state.pending == 2uL) { "nothing leaves without a network: $state" }
        offline.destroy()

        val online = open(data, server)
        val mainThread = Thread.currentThread()
        val seen = java.util.Collections.synchronizedList(mutableListOf<Pair<QueueState, Thread>>())
        val done = online.sync(60_000uL, object : SyncObserver {
            override fun onProgress(state: QueueState) { seen.add(state to Thread.currentThread()) }
        })
        check(done.sent == 2uL && done.pending == 0uL && done.wedged == 0uL) { "sent: $done" }
        check(seen.isNotEmpty() && seen.last().first.bytesSent == seen.last().first.bytesTotal) { "progress: $seen" }
        check(seen.any { it.second != mainThread }) { "progress arrives from the core's worker threads" }
        val mine = online.refreshMyReports()
        val mineOnServer = mine.single { it.id == reportId }
        check(mineOnServer.serverStatus == IncidentStatus.NIEUW) { "the server's status: ${mineOnServer.serverStatus}" }
        check(mineOnServer.state == ItemState.SENT) { "state ${mineOnServer.state}" }
        online.destroy()
    }

    test("a report the server refuses is wedged, as a Kotlin value with the server's reason") {
        val client = open(data, server)
        val outside = client.createReport(draft("Amsterdam, buiten het gebied", 52.37, 4.89))
        val state = client.sync(30_000uL, null)
        check(state.wedged == 1uL) { "wedged: $state" }
        val r = client.report(outside.id)
        check(r.state == ItemState.WEDGED) { "state ${r.state}" }
        check(r.reason?.contains("buiten het gebied") == true) { "reason: ${r.reason}" }
        client.destroy()
    }

    test("a category's questions, answers checked by the core, anonymity and 'dit is dezelfde'") {
        val client = open(data, server)
        client.refreshCategories()
        val theft = client.categories().single { it.code == "diefstal" }
        check(theft.questions.any { it.code == "aangifte" && it.kind == QuestionKind.YES_NO }) { "questions: ${theft.questions}" }
        fun theftDraft(answers: Map<String, Answer>, anonymous: Boolean = false) =
            ReportDraft("diefstal", GeoFix(lat, lon, 8.0), Instant.now().minusSeconds(60), "Fiets gestolen", answers, anonymous)
        val wrong = expect<ApiException.InvalidInput> { client.createReport(theftDraft(mapOf("aangifte" to Answer.Text("ja")))) }
        check(wrong.field == "answers.aangifte") { "field ${wrong.field}" }
        val r = client.createReport(theftDraft(mapOf("aangifte" to Answer.YesNo(true), "schade_euro" to Answer.Number(350.0)), anonymous = true))
        check(r.anonymous && r.answers["schade_euro"] == Answer.Number(350.0)) { "$r" }
        client.sync(30_000uL, null)
        check(client.report(r.id).state == ItemState.SENT) { "sent" }
        client.destroy()

        val other = open(tempDir(), server)
        other.redeemInvite(ondernemerInvite, "Slager Kotlin", "JVM")
        val near = other.nearby("diefstal", GeoFix(lat, lon, 10.0))
        check(near.any { it.id == r.id }) { "nearby: $near" }
        other.confirmSame(r.id)
        check(other.sync(30_000uL, null).sent == 1uL) { "the confirmation is sent" }
        other.destroy()
    }

    test("each public error arrives as its Kotlin exception") {
        val client = open(data, server)
        val invalid = expect<ApiException.InvalidInput> { client.createReport(draft("x", 200.0, lon)) }
        check(invalid.field == "location.lat") { "field ${invalid.field}" }
        expect<ApiException.NotFound> { client.report("00000000-0000-4000-8000-000000000000") }
        expect<ApiException.Photo> { client.attachPhoto(reportId, "geen foto".toByteArray()) }
        val fresh = open(tempDir(), server)
        val code = expect<ApiException.InvalidInput> { fresh.redeemInvite("KVO-BESTAAT-NIET", null, null) }
        check(code.field == "code" && code.reason.contains("uitnodigingscode")) { "$code" }
        fresh.destroy()
        val down = open(tempDir(), unreachable)
        expect<ApiException.Network> { down.redeemInvite(ondernemerInvite, null, null) }
        down.destroy()
        // The token revoked elsewhere (signed out): the next call says so.
        val signedOut = open(data, server)
        signedOut.signOut()
        expect<ApiException.Unauthorized> { signedOut.refreshMyReports() }
        signedOut.destroy()
        client.destroy()
    }

    test("a beveiliger's patrol: route points, a checkpoint scan and a finding reach the server") {
        val dir = tempDir()
        val client = open(dir, server)
        check(client.redeemInvite(beveiligerInvite, "Beveiliger Kotlin", "JVM").role == Role.BEVEILIGER) { "role" }
        val patrol = client.startPatrol()
        val start = Instant.now().minusSeconds(600)
        for (i in 0 until 12) client.addRoutePoint(lat + i * 0.0002, lon, start.plusSeconds(i * 30L))
        val scan = client.scanCheckpoint(checkpointTag.lowercase(), GeoFix(lat, lon, 5.0))
        expect<ApiException.InvalidInput> { client.scanCheckpoint("", GeoFix(lat, lon, 5.0)) }
        val finding = client.createReport(ReportDraft("verdachte_situatie", GeoFix(lat, lon, 5.0), Instant.now().minusSeconds(30), "Deur open"))
        check(client.report(finding.id).patrolId == patrol) { "the finding belongs to the patrol" }
        client.endPatrol()
        check(client.activePatrol() == null) { "ended" }
        val state = client.sync(60_000uL, null)
        check(state.pending == 0uL && state.wedged == 0uL) { "all sent: $state" }
        check(client.refreshMyReports().any { it.id == finding.id && it.serverStatus != null }) { "the finding is on the server" }
        // The round report, as the werkgroep reads it, holds the scan (near its checkpoint, during the patrol).
        val token = keychains[dir]!!.load("kvo.device_token")!!
        val request = java.net.http.HttpRequest.newBuilder(java.net.URI("$server/api/v1/patrols/$patrol/report"))
            .header("Authorization", "Bearer $token").build()
        val body = java.net.http.HttpClient.newHttpClient().send(request, java.net.http.HttpResponse.BodyHandlers.ofString()).body()
        check(body.contains("\"id\":\"$scan\"") && body.contains("\"far\":false") && body.contains("\"outside_patrol\":false")) { body }
        client.destroy()
    }

    println(if (failures == 0) "\nkotlin: all passed" else "\nkotlin: $failures failed")
    exitProcess(if (failures == 0) 0 else 1)
}
