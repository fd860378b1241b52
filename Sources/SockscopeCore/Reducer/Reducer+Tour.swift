/// `tour`: moving through the lessons, and each step's wait for its engine event.
extension Reducer {
    static func executeTour(_ command: TourCommand, time: Timestamp, state: inout AppState) -> [Effect] {
        switch command {
        case .list:
            for (index, lesson) in TourLessons.all.enumerated() {
                tourSay("tour \(index + 1) \(lesson.name): \(lesson.title)", time: time, state: &state)
            }
        case .start(let index):
            if index == nil, state.tour != nil {
                presentTourStep(time: time, state: &state)
            } else {
                startLesson(index ?? 0, time: time, state: &state)
            }
        case .next:
            guard var tour = state.tour else { return noTour(time: time, state: &state) }
            guard tour.isDone else {
                let step = tour.currentStep
                tourSay("tour \(tour.lesson + 1).\(tour.step + 1) is still waiting for \(tour.filled(step.waitsFor.description));"
                        + " type: " + step.commands.map(tour.filled).joined(separator: ", then "), time: time, state: &state)
                return []
            }
            if tour.step + 1 < tour.currentLesson.steps.count {
                tour.step += 1
                tour.isDone = false
                state.tour = tour
                presentTourStep(time: time, state: &state)
            } else if tour.lesson + 1 < TourLessons.all.count {
                tourSay("tour lesson \(tour.lesson + 1) finished", time: time, state: &state)
                startLesson(tour.lesson + 1, remembering: tour.remembered, time: time, state: &state)
            } else {
                state.tour = nil
                tourSay("tour finished: every lesson done (tour list shows them; lab list the labs)", time: time, state: &state)
            }
        case .back:
            guard var tour = state.tour else { return noTour(time: time, state: &state) }
            if tour.step > 0 {
                tour.step -= 1
            } else if tour.lesson > 0 {
                tour.lesson -= 1
                tour.step = tour.currentLesson.steps.count - 1
            }
            tour.isDone = false
            state.tour = tour
            presentTourStep(time: time, state: &state)
        case .quit:
            guard state.tour != nil else { return noTour(time: time, state: &state) }
            state.tour = nil
            tourSay("tour ended; tour resumes from lesson 1, tour N from lesson N", time: time, state: &state)
        }
        return []
    }

    private static func noTour(time: Timestamp, state: inout AppState) -> [Effect] {
        fail("tour: no tour is running; tour starts lesson 1, tour list shows the lessons", time: time, socket: nil, state: &state)
    }

    private static func startLesson(_ index: Int, remembering: [String: String] = [:], time: Timestamp, state: inout AppState) {
        var tour = TourState(lesson: index)
        tour.remembered = remembering
        state.tour = tour
        let lesson = tour.currentLesson
        tourSay("tour lesson \(index + 1)/\(TourLessons.all.count) \(lesson.name): \(lesson.title) — \(lesson.intro)",
                time: time, state: &state)
        presentTourStep(time: time, state: &state)
    }

    /// The step's instruction: one line per command to type, with why.
    private static func presentTourStep(time: Timestamp, state: inout AppState) {
        guard let tour = state.tour else { return }
        let step = tour.currentStep
        let place = "tour \(tour.lesson + 1).\(tour.step + 1) (step \(tour.step + 1) of \(tour.currentLesson.steps.count))"
        for command in step.commands {
            tourSay("\(place) type: \(tour.filled(command))", time: time, state: &state)
        }
        tourSay("\(place) why: \(tour.filled(step.why)); waiting for \(tour.filled(step.waitsFor.description))",
                time: time, state: &state)
    }

    private static func tourSay(_ text: String, time: Timestamp, state: inout AppState) {
        note(.info, text, nil, time, &state)
        state.view.flash = text
    }

    /// After each engine event: does it finish the tour's current step? Only real events count.
    static func observeTour(_ event: EngineEvent, state: inout AppState) {
        guard var tour = state.tour, !tour.isDone else { return }
        let condition = tour.currentStep.waitsFor
        guard let socket = tourMatch(condition, event.kind, tour: tour, state: state) else { return }
        if let name = condition.remember, let socket { tour.remembered[name] = socket.description }
        if case .listening(_, _, let local, _, _) = event.kind, let port = local.port { tour.remembered["port"] = String(port) }
        tour.isDone = true
        state.tour = tour
        let next = tour.step + 1 < tour.currentLesson.steps.count || tour.lesson + 1 < TourLessons.all.count
        tourSay("tour \(tour.lesson + 1).\(tour.step + 1) done: \(tour.filled(tour.currentStep.explanation))"
                + (next ? " (tour next goes on)" : " (tour next ends the tour)"), time: event.time, state: &state)
    }

    /// Nil when `kind` does not meet the condition; else the socket the event is about (nil inside when none).
    private static func tourMatch(_ condition: TourCondition, _ kind: EngineEventKind, tour: TourState, state: AppState)
        -> SocketID??
    {
        let subject: SocketID?
        var about: SocketID?
        switch (condition.event, kind) {
        case (.call(let name, let errno), .lab(.call(let id, let record))):
            guard record.call == name else { return nil }
            if let errno {
                guard record.errnoName == errno else { return nil }
            } else {
                guard record.errno == nil, record.resultText != "(waiting)" else { return nil }
            }
            subject = id
        case (.listening(let transport), .listening(let id, let actual, _, _, _)):
            guard actual == transport || (transport == .unix && actual == .unix) else { return nil }
            subject = id
        case (.connected(let transport), .connected(let id, _, _)):
            guard state.transport(of: id) == transport else { return nil }
            subject = id
        case (.accepted, .accepted(let id, let listener, _, _)):
            subject = id
            about = listener
        case (.received, .received(let id, _, _)), (.received, .receivedFrom(let id, _, _, _, _)),
             (.peerClosed, .peerClosed(let id)), (.closed, .closed(let id, _)), (.peerCredentials, .peerCredentials(let id, _, _, _)):
            subject = id
        case (.error(let code), .error(let id?, let failure)):
            guard failure.code == code else { return nil }
            subject = id
        case (.labResult(let name), .lab(.experiment(let finding))):
            guard finding.experiment == name, finding.kind == .result else { return nil }
            subject = nil
        default:
            return nil
        }
        if let on = condition.on {
            guard let expected = tour.remembered[on], (about ?? subject)?.description == expected else { return nil }
        }
        return .some(subject)
    }
}
