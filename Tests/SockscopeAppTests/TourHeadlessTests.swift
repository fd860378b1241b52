import Foundation
import Testing
import TestSupport

/// Every lesson of `tour`, played headless by the built binary as a learner would: the test
/// types exactly what each step says to type (read from the output, ports and ids filled in),
/// and checks that a step goes on only once its real event came, never on a keystroke.
/// Three minutes: a lesson is up to ten steps typed one by one, and lesson 7 runs all six labs;
/// on two loaded cores the whole suite beside it slows each step down.
@Suite(.timeLimit(.minutes(3))) struct TourHeadlessTests {
    /// A headless session whose stdin is a FIFO the test writes lines into.
    final class Learner {
        let process: SpawnedProcess
        let fifo: String
        /// How far into the output the test has read.
        var offset: String.Index

        /// `before`: shell commands run (in the namespace) before the session starts, and
        /// `wrapper` the command it is started through (`setpriv --bounding-set -net_raw`).
        init(before: String = "", wrapper: String = "") throws {
            fifo = TemporaryPath.make(prefix: "tour", suffix: ".fifo")
            guard mkfifo(fifo, 0o600) == 0 else { throw POSIXError(.EIO) }
            // Opened read-write, so the session never sees the end of its input.
            // Lesson 7 runs the backlog lab: in a network namespace of its own where possible (`OwnNetwork`).
            process = try OwnNetwork.shell("\(before)exec \(wrapper) '\(Binary.path)' --headless <> '\(fifo)'")
            offset = "".startIndex
        }

        func type(_ line: String) async {
            // The session opens its end of the FIFO once it runs; until then there is no reader (ENXIO).
            var descriptor: CInt = -1
            _ = await waitUntil { descriptor = open(fifo, O_WRONLY | O_NONBLOCK); return descriptor >= 0 }
            let bytes = Array((line + "\n").utf8)
            #expect(descriptor >= 0 && write(descriptor, bytes, bytes.count) == bytes.count, "typing \(line)")
            close(descriptor)
        }

        /// The next output line (after what was read) containing `text`; nil after the deadline.
        func nextLine(containing text: String, timeout: Duration = .seconds(20)) async -> String? {
            var found: String?
            _ = await waitUntil(timeout: timeout) {
                let output = process.output
                guard offset <= output.endIndex, let range = output[offset...].range(of: text) else { return false }
                let start = output[..<range.lowerBound].lastIndex(of: "\n").map(output.index(after:)) ?? output.startIndex
                guard let end = output[range.upperBound...].firstIndex(of: "\n") else { return false }
                found = String(output[start..<end])
                offset = end
                return true
            }
            return found
        }
    }

    @Test(arguments: 1...7) func everyStepOfTheLessonGoesOnOnlyOnItsRealEvent(lesson: Int) async throws {
        let learner = try Learner()
        defer { learner.process.kill(SIGKILL) }
        await learner.type("tour \(lesson)")
        #expect(await learner.nextLine(containing: "tour lesson \(lesson)/7 ") != nil, "\(learner.process.output)")
        let first = try #require(await learner.nextLine(containing: "tour \(lesson).1 (step 1 of "))
        let stepCount = try #require(first.firstMatch(of: /\(step 1 of (\d+)\)/).flatMap { Int($0.1) })
        learner.offset = learner.process.output.startIndex
        for step in 1...stepCount {
            let place = "tour \(lesson).\(step) (step \(step) of \(stepCount))"
            var commands: [String] = []
            while true {
                let line = try #require(await learner.nextLine(containing: place), "\(learner.process.output)")
                if let command = line.firstMatch(of: /\ type: (.*)$/)?.1 {
                    commands.append(String(command))
                } else {
                    #expect(line.contains(" why: "))
                    break
                }
            }
            // Typing `tour next` is not doing the step: it says what it waits for and stays.
            await learner.type("tour next")
            let waiting = await learner.nextLine(containing: "tour \(lesson).\(step) is still waiting for ")
            #expect(waiting != nil, "step \(step) went on without its event: \(learner.process.output)")
            for command in commands { await learner.type(command) }
            let done = await learner.nextLine(containing: "tour \(lesson).\(step) done: ", timeout: .seconds(40))
            #expect(done != nil, "step \(step) (\(commands)) never saw its event: \(learner.process.output)")
            guard done != nil else { return }
            await learner.type("tour next")
        }
        let end = lesson == 7 ? "tour finished: every lesson done" : "tour lesson \(lesson) finished"
        #expect(await learner.nextLine(containing: end) != nil, "\(learner.process.output)")
        // Nothing failed on the way, but the one error lesson 3 is about.
        let errors = learner.process.output.split(separator: "\n").filter { $0.contains(" error ") && !$0.contains(" tour ") }
        #expect(errors.count == (lesson == 3 ? 1 : 0) && errors.allSatisfy { $0.contains("ECONNREFUSED") },
                "\(learner.process.output)")
    }
}
