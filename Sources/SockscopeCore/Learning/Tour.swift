/// `tour`: lessons a learner follows alone, one step at a time. Each step says what to type
/// and why, waits for the engine event that shows it was done (never the keystrokes: a
/// command that failed does not count), then says what the kernel did and where to look.
/// The lessons are data: `TourLessons.all`.
public struct TourLesson: Sendable {
    public let name: String
    public let title: String
    /// Said when the lesson starts.
    public let intro: String
    public let steps: [TourStep]
}

public struct TourStep: Sendable {
    /// What to type, one command after the other. `{name}` stands for what an earlier step
    /// remembered (a socket id, `{port}`).
    public let commands: [String]
    /// Why this step, before it is done.
    public let why: String
    /// What shows that it was done.
    public let waitsFor: TourCondition
    /// What the kernel did and where to look, once it is done.
    public let explanation: String

    public init(_ commands: String..., why: String, waitsFor: TourCondition, then explanation: String) {
        self.commands = commands
        self.why = why
        self.waitsFor = waitsFor
        self.explanation = explanation
    }
}

/// An engine event a step waits for. `remember` keeps the event's socket id under a name for
/// later steps' commands (a listening event also keeps `{port}`); `on` accepts only events about
/// the socket an earlier step remembered under that name.
public struct TourCondition: Sendable {
    public enum Event: Sendable {
        /// A step-mode call that succeeded (`errno` nil) or failed with that errno name.
        case call(String, errno: String?)
        case listening(TransportProtocol)
        case connected(TransportProtocol)
        case accepted
        /// Bytes or a datagram arrived.
        case received
        case peerClosed
        case closed
        /// An error with this errno name (`ECONNREFUSED`).
        case error(String)
        case peerCredentials
        /// `lab NAME` reached its result.
        case labResult(ExperimentName)
    }

    public let event: Event
    public let remember: String?
    public let on: String?

    public init(_ event: Event, remember: String? = nil, on: String? = nil) {
        self.event = event
        self.remember = remember
        self.on = on
    }

    /// What the step is waiting for, in words (`tour next` before it is done says it).
    public var description: String {
        let about = on.map { " on {\($0)}" } ?? ""
        switch event {
        case .call(let name, nil): return "a successful \(name)() call\(about)"
        case .call(let name, let errno?): return "\(name)() failing with \(errno)\(about)"
        case .listening(let transport): return "a \(transport.label) socket listening"
        case .connected(let transport): return "a \(transport.label) connection up\(about)"
        case .accepted: return "a connection accepted\(about)"
        case .received: return "data received\(about)"
        case .peerClosed: return "the peer's EOF\(about)"
        case .closed: return "a socket closed\(about)"
        case .error(let code): return "an error \(code)\(about)"
        case .peerCredentials: return "the peer's credentials\(about)"
        case .labResult(let name): return "the result of lab \(name.rawValue)"
        }
    }
}

/// Where a learner is in the tour, and what its steps remembered.
public struct TourState: Sendable {
    public var lesson: Int
    public var step = 0
    /// The current step's event has been seen: `tour next` goes on.
    public var isDone = false
    /// `{name}` values for the commands: socket ids and `port`.
    public var remembered: [String: String] = [:]

    public init(lesson: Int) {
        self.lesson = lesson
    }

    public var currentLesson: TourLesson { TourLessons.all[lesson] }
    public var currentStep: TourStep { currentLesson.steps[step] }

    /// A template with what is remembered filled in (unknown names stay as written).
    public func filled(_ template: String) -> String {
        var text = template
        for (name, value) in remembered { text = text.replacing("{\(name)}", with: value) }
        return text
    }

    /// `tour 1/7 A TCP server · step 3/9: listen S1 5 · waiting`: the TUI's progress line.
    public var progress: String {
        let lesson = currentLesson
        let state = isDone ? "done: tour next" : "waiting"
        return "tour \(self.lesson + 1)/\(TourLessons.all.count) \(lesson.title) · step \(step + 1)/\(lesson.steps.count): "
            + currentStep.commands.map(filled).joined(separator: "; ") + " · " + state
    }
}
