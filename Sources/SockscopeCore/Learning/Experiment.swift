/// `lab NAME`: the classic surprises of socket programming, each reproduced on real
/// sockets of this machine in a few seconds. The engine makes the calls and measures;
/// the words (what each lab shows, why each step came out as it did) are data here,
/// in `ExperimentCatalog`, so the engine reports only what happened and the numbers.
public enum ExperimentName: String, Hashable, Sendable, CaseIterable {
    case timewait, backlog, nagle, framing, halfclose, reset
}

/// A measured value an experiment reports with a step: JSON gets it typed, tests check it.
public struct ExperimentFact: Hashable, Sendable {
    public enum Value: Hashable, Sendable {
        case int(Int)
        case text(String)
        case bool(Bool)
    }

    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    public static func int(_ name: String, _ value: Int) -> ExperimentFact { ExperimentFact(name, .int(value)) }
    public static func text(_ name: String, _ value: String) -> ExperimentFact { ExperimentFact(name, .text(value)) }
    public static func bool(_ name: String, _ value: Bool) -> ExperimentFact { ExperimentFact(name, .bool(value)) }

    /// `name=value`, as headless text shows it (text values come from our own words or the kernel's names).
    public var text: String {
        switch value {
        case .int(let number): "\(name)=\(number)"
        case .text(let text): "\(name)=\(text)"
        case .bool(let flag): "\(name)=\(flag)"
        }
    }
}

/// One thing an experiment did or saw, as the engine reports it.
public struct ExperimentFinding: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// The lab began: what it is about to show.
        case start
        /// System calls it made and the kernel's answers.
        case call
        /// Something it observed: a state, a queue, a time.
        case saw
        /// The lab's end: what it showed, with the numbers.
        case result
        /// It could not finish (the kernel answered something else than a lab can go on from).
        case failed
    }

    public var experiment: ExperimentName
    /// The step's name in the lab (`restart-plain`): `ExperimentCatalog` explains it, tests and the tour find it.
    public var step: String
    public var kind: Kind
    /// What happened, with its numbers: calls as strace writes them, states as the kernel names them.
    public var text: String
    public var facts: [ExperimentFact]

    public init(experiment: ExperimentName, step: String, kind: Kind, text: String, facts: [ExperimentFact] = []) {
        self.experiment = experiment
        self.step = step
        self.kind = kind
        self.text = text
        self.facts = facts
    }

    public func fact(_ name: String) -> ExperimentFact.Value? {
        facts.first { $0.name == name }?.value
    }

    /// Why the step came out as it did, from the catalog (empty when there is nothing to add).
    public var why: String {
        ExperimentCatalog.entry(experiment).why[step] ?? ""
    }

    /// The whole line: what happened, then why.
    public var sentence: String {
        let why = why
        return why.isEmpty ? text : "\(text) — \(why)"
    }
}
