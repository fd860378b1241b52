/// A relay's events in every form (`EventText` calls here): each names its relay and the
/// leg it is about (`client` or `upstream`), so a relayed pair reads on its own in the log.
public enum RelayEventText {
    static func name(of event: RelayEvent) -> String {
        switch event {
        case .listening: "relaying"
        case .upstream: "relay-upstream"
        case .passedOn: "relay-passed-on"
        case .paused: "relay-paused"
        case .resumed: "relay-resumed"
        case .toxicAdded: "toxic-added"
        case .toxicRemoved: "toxic-removed"
        case .toxicFired: "toxic-fired"
        case .down: "relay-down"
        case .up: "relay-up"
        case .dropped: "relay-dropped"
        case .holding: "relay-holding"
        case .holdReleased: "relay-hold-released"
        case .held: "relay-held"
        case .heldOut(_, _, _, let outcome, _, _, _, _): "relay-held-" + outcome.rawValue
        case .holdFull: "relay-hold-full"
        }
    }

    static func describe(_ event: RelayEvent, _ w: inout EventText.Writer) {
        switch event {
        case .listening(_, let transport, let local, let target):
            switch w.form {
            case .sentence:
                let exposure = local.isWildcard ? " on ALL interfaces (reachable from the network)" : ""
                w.sentence = "relaying \(transport.label) \(local)\(exposure) to \(target): each client gets an upstream leg"
            case .line:
                w.add("relaying "); w.add(transport.label); w.add(" "); w.add(local)
                if local.isWildcard { w.add(" ALL-INTERFACES") }
                w.add(" target="); w.addSafe(target)
            case .json:
                w.fields += [("local", .string(local.description)), ("target", .string(target))]
            }
        case .upstream(_, let relay, let client, _, let target):
            switch w.form {
            case .sentence: w.sentence = "upstream leg of \(relay) for client leg \(client): connecting to \(target)"
            case .line:
                w.add("relay-upstream relay="); w.add(relay); w.add(" leg=upstream client="); w.add(client)
                w.add(" target="); w.addSafe(target)
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(RelayLegRole.upstream.rawValue)),
                             ("client", .string(client.description)), ("target", .string(target))]
            }
        case .passedOn(_, let role, let relay, let from, let ending):
            switch w.form {
            case .sentence: w.sentence = "\(role.rawValue) leg of \(relay): \(meaning(ending, from: from))"
            case .line:
                w.add("relay-passed-on "); w.add(ending.rawValue); w.add(" relay="); w.add(relay)
                w.add(" leg="); w.add(role.rawValue); w.add(" from="); w.add(from)
                w.add(" ("); w.add(meaning(ending, from: from)); w.add(")")
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)),
                             ("from", .string(from.description)), ("ending", .string(ending.rawValue))]
            }
        case .paused(_, let role, let relay, let waitingOn, let held):
            let why = "\(waitingOn) is not taking what \(relay) forwards (\(ByteCount.text(held)) held)"
            switch w.form {
            case .sentence: w.sentence = "\(role.rawValue) leg stopped reading: \(why)"
            case .line:
                w.add("relay-paused relay="); w.add(relay); w.add(" leg="); w.add(role.rawValue)
                w.add(" waiting_on="); w.add(waitingOn); w.add(" held="); w.add(held)
                w.add(" ("); w.add(why); w.add(")")
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)),
                             ("waiting_on", .string(waitingOn.description)), ("held", .int(held))]
            }
        case .resumed(_, let role, let relay, let milliseconds):
            switch w.form {
            case .sentence: w.sentence = "\(role.rawValue) leg of \(relay) reads again after \(milliseconds) ms"
            case .line:
                w.add("relay-resumed relay="); w.add(relay); w.add(" leg="); w.add(role.rawValue)
                w.add(" paused_ms="); w.add(milliseconds)
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)),
                             ("paused_ms", .int(milliseconds))]
            }
        case .toxicAdded, .toxicRemoved, .toxicFired:
            describeToxic(event, &w)
        case .holding, .holdReleased, .held, .heldOut, .holdFull:
            describeHold(event, &w)
        case .down(_, let closedPairs):
            switch w.form {
            case .sentence: w.sentence = "relay down: \(closedPairs) pair(s) closed; new clients are refused until relay up"
            case .line: w.add("relay-down closed_pairs="); w.add(closedPairs); w.add(" (new clients refused until relay up)")
            case .json: w.fields.append(("closed_pairs", .int(closedPairs)))
            }
        case .up:
            switch w.form {
            case .sentence: w.sentence = "relay up: forwarding new clients again"
            case .line: w.add("relay-up (forwarding new clients again)")
            case .json: break
            }
        case .dropped(_, let role, let relay, let count):
            let why = "datagram(s) dropped: the other leg's socket buffer was full (UDP has no backpressure)"
            switch w.form {
            case .sentence: w.sentence = "\(role.rawValue) leg of \(relay): \(count) \(why)"
            case .line:
                w.add("relay-dropped relay="); w.add(relay); w.add(" leg="); w.add(role.rawValue)
                w.add(" count="); w.add(count); w.add(" ("); w.add(why); w.add(")")
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)), ("count", .int(count))]
            }
        }
    }

    static func describeToxic(_ event: RelayEvent, _ w: inout EventText.Writer) {
        switch event {
        case .toxicAdded(_, let toxic):
            switch w.form {
            case .sentence: w.sentence = "toxic added: \(toxic.summary)"
            case .line:
                w.add("toxic-added name="); w.addSafe(toxic.name); w.add(" kind="); w.add(toxic.effect.kind)
                w.add(" dir="); w.add(toxic.direction.rawValue)
                if toxic.toxicity < 1 { w.add(" toxicity="); w.add(Toxic.text(toxicity: toxic.toxicity)) }
                w.add(" ("); w.add(toxic.effect.text); w.add(")")
            case .json:
                w.fields += [("name", .string(toxic.name)), ("kind", .string(toxic.effect.kind)),
                             ("dir", .string(toxic.direction.rawValue)),
                             ("parameters", .array(toxic.effect.parameters.map { .int($0) })),
                             ("toxicity", .fraction(toxic.toxicity))]
            }
        case .toxicRemoved(_, let name):
            switch w.form {
            case .sentence: w.sentence = "toxic removed: \(name)"
            case .line: w.add("toxic-removed name="); w.addSafe(name)
            case .json: w.fields.append(("name", .string(name)))
            }
        case .toxicFired(_, let role, let relay, let name, let count):
            switch w.form {
            case .sentence: w.sentence = "toxic \(name) of \(relay) acted \(count) times on what the \(role.rawValue) leg read"
            case .line:
                w.add("toxic-fired relay="); w.add(relay); w.add(" leg="); w.add(role.rawValue)
                w.add(" name="); w.addSafe(name); w.add(" count="); w.add(count)
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)),
                             ("name", .string(name)), ("count", .int(count))]
            }
        default:
            break
        }
    }

    /// Holding (`hold`, `forward`, `drop`, `edit`, `release`): each names the relay, the leg
    /// and its direction (the client leg reads what goes up), and what the leg still holds.
    static func describeHold(_ event: RelayEvent, _ w: inout EventText.Writer) {
        switch event {
        case .holding(_, let direction, let framing):
            switch w.form {
            case .sentence: w.sentence = "holding \(direction.meaning) (cut as \(framing.rawValue)): forward, drop, edit or release"
            case .line: w.add("relay-holding dir="); w.add(direction.rawValue); w.add(" frame="); w.add(framing.rawValue)
            case .json: w.fields += [("dir", .string(direction.rawValue)), ("frame", .string(framing.rawValue))]
            }
        case .holdReleased:
            switch w.form {
            case .sentence: w.sentence = "no longer holding: what was held is forwarded"
            case .line: w.add("relay-hold-released")
            case .json: break
            }
        case .held(_, let role, let relay, let sequence, let bytes, let count, let heldChunks, let heldBytes):
            switch w.form {
            case .sentence:
                w.sentence = "held \(ByteCount.text(count)) going \(role.direction) (chunk #\(sequence)); \(role.rawValue) leg holds "
                    + "\(heldChunks) chunk(s), \(ByteCount.text(heldBytes)): \"\(DisplayText.escape(bytes))\""
                    + (count > bytes.count ? "..." : "")
            case .line:
                w.add("relay-held relay="); w.add(relay); w.add(" leg="); w.add(role.rawValue); w.add(" dir="); w.add(role.direction)
                w.add(" chunk="); w.add(sequence); w.add(" bytes="); w.add(count)
                w.add(" held_chunks="); w.add(heldChunks); w.add(" held_bytes="); w.add(heldBytes)
                w.add(" \""); DataEscaping.append(bytes[...], to: &w.out); w.add(count > bytes.count ? "\"..." : "\"")
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)), ("dir", .string(role.direction)),
                             ("chunk", .int(sequence)), ("bytes", .int(count)), ("text", .string(DisplayText.escape(bytes))),
                             ("truncated", .bool(count > bytes.count)),
                             ("held_chunks", .int(heldChunks)), ("held_bytes", .int(heldBytes))]
            }
        case .heldOut(_, let role, let relay, let outcome, let chunks, let bytes, let heldChunks, let heldBytes):
            switch w.form {
            case .sentence:
                w.sentence = "\(outcome.rawValue) \(chunks) held chunk(s), \(ByteCount.text(bytes)), going \(role.direction); "
                    + "\(role.rawValue) leg still holds \(heldChunks), \(ByteCount.text(heldBytes))"
            case .line:
                w.add("relay-held-"); w.add(outcome.rawValue); w.add(" relay="); w.add(relay); w.add(" leg="); w.add(role.rawValue)
                w.add(" dir="); w.add(role.direction); w.add(" chunks="); w.add(chunks); w.add(" bytes="); w.add(bytes)
                w.add(" held_chunks="); w.add(heldChunks); w.add(" held_bytes="); w.add(heldBytes)
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)), ("dir", .string(role.direction)),
                             ("chunks", .int(chunks)), ("bytes", .int(bytes)),
                             ("held_chunks", .int(heldChunks)), ("held_bytes", .int(heldBytes))]
            }
        case .holdFull(_, let role, let relay, let relayHeld, let bound):
            let why = "\(relay) holds \(ByteCount.text(relayHeld)), its bound is \(ByteCount.text(bound))"
            switch w.form {
            case .sentence: w.sentence = "\(role.rawValue) leg stopped reading: \(why) (forward, drop or release makes room)"
            case .line:
                w.add("relay-hold-full relay="); w.add(relay); w.add(" leg="); w.add(role.rawValue); w.add(" dir="); w.add(role.direction)
                w.add(" relay_held="); w.add(relayHeld); w.add(" bound="); w.add(bound); w.add(" (not reading: "); w.add(why); w.add(")")
            case .json:
                w.fields += [("relay", .string(relay.description)), ("leg", .string(role.rawValue)), ("dir", .string(role.direction)),
                             ("relay_held", .int(relayHeld)), ("bound", .int(bound))]
            }
        default:
            break
        }
    }

    /// What passing an ending on means, in both text forms.
    static func meaning(_ ending: RelayEnding, from: SocketID) -> String {
        switch ending {
        case .fin: "\(from) read EOF (FIN): FIN passed on here (shutdown write, after what was queued)"
        case .reset: "\(from) was reset: RST passed on here (SO_LINGER 0, close)"
        case .close: "\(from) closed: closing here once what was queued has left"
        }
    }

    /// The Detail pane's line for a relay leg: its relay, its side, its other leg and any pause.
    public static func detailLine(_ leg: RelayLeg) -> String {
        let partner = leg.partner.map { "\($0)" } ?? "not yet"
        let other = leg.role == .client ? "upstream leg" : "client leg"
        var text = "\(leg.role.rawValue) leg of \(leg.relay); \(other): \(partner)"
        if leg.heldChunks > 0 { text += "; holds \(leg.heldChunks) chunk(s), \(ByteCount.text(leg.heldBytes)) going \(leg.role.direction)" }
        if leg.holdFull { text += "; not reading: the relay's held bytes reached its bound" }
        if let held = leg.held, let partner = leg.partner {
            text += "; not reading: \(ByteCount.text(held)) held on \(partner), whose peer is not taking it"
        }
        return text
    }
}
