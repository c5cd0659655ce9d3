// The event loop's own answers. Hummingbird 2 hands every request to a task on Swift's cooperative
// pool and writes only ByteBuffers: two thread hops per request and no sendfile, which measured
// here caps a kept page at about 15k req/s and a 1 MiB wheel at 2.4x nginx's time. So this one
// handler sits in Hummingbird's own HTTP/1 pipeline, right after NIO's HTTP decoder, and answers on
// the event loop whatever the route table (Mirror.route) can answer without blocking: a page
// already rendered for the current catalog snapshot, a redirect or a 404, and stored files, sent
// with a FileRegion (sendfile(2)) on plain HTTP. Everything else (a first render, the index asked
// after 5 ms, HTTP/1.0, `Connection: close`, a request with a body, files over TLS, which NIOSSL
// cannot sendfile) goes on to Hummingbird unchanged: the routes and their headers are the same
// table on both paths.
//
// Written by hand (the only NIO handler in Airlock) because the speed targets of the mirror need
// it; what it must keep:
// - Order. While a request it passed on is unanswered, it answers nothing itself and passes the
//   rest on too, so pipelined answers stay in request order.
// - The idle timeout and graceful shutdown. Hummingbird's connection-state handler, behind this
//   one, never sees the requests answered here, so this handler owns both for every request (it
//   sees all of them): a connection with nothing read for `idleTimeout` (a slow-loris head
//   included) is closed; on shutdown an idle connection closes at once and a busy one after its
//   last answer is written.
// - Back-pressure. With 16 of its answers unwritten it stops reading until they drain.
// - The access log and the `Date` and `Server` fields, as on the other path.
// Opening a stored file here is one open(2) on the event loop, as nginx does without its
// open_file_cache; the file's size comes from the index.

import AirlockCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Hummingbird's HTTP/1 channel with MirrorFastPath put after NIO's request decoder.
struct MirrorChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let mirror: Mirror
    let log: AccessLog
    let sendFiles: Bool
    let idleTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let fast = MirrorFastPath(mirror: mirror, log: log, sendFiles: sendFiles, idleTimeout: idleTimeout)
            try pipeline.addHandler(fast, position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

final class MirrorFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let mirror: Mirror
    private let log: AccessLog
    private let sendFiles: Bool
    private let idleTimeout: TimeAmount
    private let serverName: String

    /// What the parts of the current request go to.
    private enum Reading { case between, answered, passedOn }
    private var reading = Reading.between
    /// Requests passed on whose answer's end has not gone by.
    private var passedOn = 0
    /// Own answers not yet written.
    private var unwritten = 0
    private var wroteSinceFlush = false
    private var readHeld = false
    private var quiescing = false
    private var lastActive = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?
    private var remote = "-"

    static let maximumUnwritten = 16

    init(mirror: Mirror, log: AccessLog, sendFiles: Bool, idleTimeout: TimeAmount) {
        self.mirror = mirror
        self.log = log
        self.sendFiles = sendFiles
        self.idleTimeout = idleTimeout
        serverName = mirror.options.serverName
    }

    // MARK: Life of the connection

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { started(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        started(context)
        context.fireChannelActive()
    }

    private func started(_ context: ChannelHandlerContext) {
        remote = context.channel.remoteAddress?.ipAddress ?? "-"
        lastActive = .now()
        scheduleIdleCheck(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelInactive()
    }

    private var busy: Bool { passedOn > 0 || unwritten > 0 || reading != .between }

    private func scheduleIdleCheck(_ context: ChannelHandlerContext) {
        guard idleCheck == nil else { return }
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastActive + idleTimeout) { [self] in
            idleCheck = nil
            // A request read whole and still being answered is not idle.
            if reading == .between, passedOn > 0 || unwritten > 0 { return }
            if NIODeadline.now() >= lastActive + idleTimeout {
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(context)
            }
        }
    }

    /// After an answer is written: idle from now, or closed when shutting down.
    private func answerDone(_ context: ChannelHandlerContext) {
        lastActive = .now()
        if quiescing, !busy {
            context.close(promise: nil)
            return
        }
        scheduleIdleCheck(context)
        if readHeld, unwritten < Self.maximumUnwritten {
            readHeld = false
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Graceful shutdown is this handler's (see the header); Hummingbird's handler behind it
        // would close a connection whose answer is still being written here.
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if !busy { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        lastActive = .now()
        switch part {
        case .head(let head):
            if quiescing {
                // Shutting down: no new request is begun; the connection closes after the last answer.
                reading = .answered
            } else if passedOn == 0, let answer = quickAnswer(head) {
                reading = .answered
                send(answer, to: head, context: context)
            } else {
                reading = .passedOn
                passedOn += 1
                context.fireChannelRead(data)
            }
        case .body:
            if reading == .passedOn { context.fireChannelRead(data) }
        case .end:
            if reading == .passedOn { context.fireChannelRead(data) }
            reading = .between
            // A request that came after shutdown began was not begun; its end may be the last thing.
            if quiescing, !busy { context.close(promise: nil) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if wroteSinceFlush {
            wroteSinceFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if unwritten >= Self.maximumUnwritten {
            readHeld = true
            return
        }
        context.read()
    }

    /// Answers passed on: their end is where this handler may answer again.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // Hummingbird also answers a request the decoder refused (400), which was never passed on.
            passedOn = max(0, passedOn - 1)
            let written = promise ?? context.eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenComplete { [self] _ in answerDone(context) }
            context.write(data, promise: written)
            return
        }
        context.write(data, promise: promise)
    }

    /// An answer this loop can give now, or nil to pass the request on.
    private func quickAnswer(_ head: HTTPRequestHead) -> (MirrorAnswer, NIOFileHandle?)? {
        guard head.version == .http1_1, head.method == .GET || head.method == .HEAD else { return nil }
        let headers = head.headers
        if headers.contains(name: "transfer-encoding") { return nil }
        if let length = headers.first(name: "content-length"), length != "0" { return nil }
        if let connection = headers.first(name: "connection"), connection.lowercased().contains("close") { return nil }
        guard let catalog = mirror.catalogCache.recent() else { return nil }
        let request = MirrorRequest(
            method: head.method.rawValue, target: head.uri, authority: headers.first(name: "host"),
            accept: headers.first(name: "accept"), ifNoneMatch: headers.first(name: "if-none-match"),
            range: headers.first(name: "range")
        )
        let answer = mirror.route(request, catalog: catalog)
        switch answer.body {
        case .later:
            return nil
        case .file(let path, _):
            guard sendFiles else { return nil }
            if request.isHead { return (answer, nil) }
            // The one blocking call made here: open(2) of a stored file (see the header).
            guard let handle = try? NIOFileHandle(_deprecatedPath: path) else { return nil }
            return (answer, handle)
        case .empty, .buffer:
            return (answer, nil)
        }
    }

    private func send(_ quick: (MirrorAnswer, NIOFileHandle?), to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let (answer, handle) = quick
        let started = ContinuousClock.now
        var headers = HTTPHeaders()
        headers.reserveCapacity(answer.headers.count + 2)
        for field in answer.headers { headers.add(name: field.name.rawName, value: field.value) }
        headers.add(name: "Date", value: HTTPDate.now())
        headers.add(name: "Server", value: serverName)
        let status = HTTPResponseStatus(statusCode: answer.status.code, reasonPhrase: answer.status.reasonPhrase)
        unwritten += 1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            switch answer.body {
            case .buffer(let buffer):
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            case .file(_, let span):
                if let handle {
                    let region = FileRegion(fileHandle: handle, readerIndex: span.lowerBound, endIndex: span.upperBound + 1)
                    context.write(wrapOutboundOut(.body(.fileRegion(region))), promise: nil)
                }
            case .empty, .later:
                break
            }
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(.end(nil)), promise: written)
        wroteSinceFlush = true
        let method = request.method.rawValue
        let target = request.uri
        let bytes = answer.headers[.contentLength]
        written.futureResult.assumeIsolated().whenComplete { [self] result in
            try? handle?.close()
            unwritten -= 1
            log.write(remote: remote, method: method, target: target, status: answer.status.code, bytes: bytes, since: started)
            if case .failure = result {
                context.close(promise: nil)
                return
            }
            answerDone(context)
        }
    }
}

/// The `Date` field (IMF-fixdate), formatted once a second.
enum HTTPDate {
    private static let kept = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        let seconds = Int(Date().timeIntervalSince1970)
        if let text = kept.withLock({ $0.second == seconds ? $0.text : nil }) { return text }
        let text = format(seconds)
        kept.withLock { $0 = (seconds, text) }
        return text
    }

    static func format(_ seconds: Int) -> String {
        let c = Timestamp.civil(epochSeconds: Int64(seconds))
        // 1970-01-01 was a Thursday.
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][seconds / 86_400 % 7]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][c.month - 1]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekday), \(two(c.day)) \(month) \(c.year) \(two(c.hour)):\(two(c.minute)):\(two(c.second)) GMT"
    }
}
