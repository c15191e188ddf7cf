#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "reflector/config_file.h"
#include "reflector/event_loop.h"

namespace rfbcast {

// One input event for the upstream. The arbiter hands these back as the releases to send before
// a forwarded event, so a viewer that loses the hold leaves no key or button down on the server.
struct InputEvent {
    enum class Kind : uint8_t { kKey, kPointer };
    Kind kind = Kind::kKey;
    // kKey: `keycode` is the QEMU Extended Key Event keycode the key was pressed with, 0 for a
    // plain KeyEvent. A release with a keycode should go out as a QEMU key event when the
    // upstream takes them (the server may track the key by its keycode), else as a plain one.
    bool down = false;
    uint32_t keysym = 0;
    uint32_t keycode = 0;
    // kPointer
    uint8_t buttons = 0;
    uint16_t x = 0, y = 0;

    static InputEvent key(bool down, uint32_t keysym, uint32_t keycode = 0) {
        InputEvent e;
        e.kind = Kind::kKey;
        e.down = down;
        e.keysym = keysym;
        e.keycode = keycode;
        return e;
    }
    static InputEvent pointer(uint8_t buttons, uint16_t x, uint16_t y) {
        InputEvent e;
        e.kind = Kind::kPointer;
        e.buttons = buttons;
        e.x = x;
        e.y = y;
        return e;
    }
    friend bool operator==(const InputEvent&, const InputEvent&) = default;
};

// What to do with one viewer's input event: send `releases` to the upstream (in order), then
// the event itself if `forward`. Releases can come with a dropped event too (a viewer that lost
// its control access still had keys down).
struct InputDecision {
    bool forward = false;
    std::vector<InputEvent> releases;
};

// Decides which of a session's viewers drive the upstream's keyboard, pointer and clipboard
// (issue 6, "Classroom control"). Pure: no sockets, no timers; the caller passes the time.
//
// - View-only viewers (control = false) never send input or clipboard text.
// - kShared: every control viewer's input passes.
// - kFirst: the first control viewer to send input holds it; the others' input is dropped until
//   the holder has been idle for `idle_timeout` (measured from its last forwarded event; the
//   hold is free at exactly that age; zero or negative: never by idleness) or is gone.
// - kLastWins: any control viewer's input takes the hold at once.
//
// The arbiter tracks what the server has been told is down: each viewer's pressed keys and the
// last forwarded pointer event (its buttons and position). When the hold moves, the new holder's
// first event comes with releases for everything other viewers left down: the pointer's buttons
// first (buttons 0 at its last position), then the keys, newest first, so modifiers come up
// last as when a person lets go. There is no timer: an idle holder's keys are released when
// someone takes the hold, not when the timeout passes.
//
// A key-up the arbiter has no matching key-down for (the down was dropped, or already released
// at a handover) is dropped: the server has nothing to release, and in an exclusive policy it
// must not give the hold back to a viewer that merely lets go of a key.
class InputArbiter {
  public:
    // Keys one viewer may hold at once. A person presses a handful, a keyboard reports at most
    // some tens; more distinct keys down means key-ups were lost (a viewer that lost focus
    // mid-press never sends them) or a hostile viewer. Past the cap the oldest key is released
    // on the server at once and forgotten: it is the one most likely stale, and releasing it
    // (rather than only forgetting it) keeps every key the server has down known, so a later
    // handover still leaves nothing stuck. Memory per viewer stays bounded.
    static constexpr size_t kMaxHeldKeys = 64;

    struct Stats {
        uint64_t forwarded = 0;             // key and pointer events passed on
        uint64_t dropped_view_only = 0;     // from viewers without control access
        uint64_t dropped_not_holder = 0;    // kFirst: another viewer held the input
        uint64_t dropped_stale_key_up = 0;  // key-ups with nothing to release
        uint64_t holder_changes = 0;        // the hold moved to a viewer (from none or another)
        uint64_t keys_evicted = 0;          // released because a viewer held kMaxHeldKeys
        uint64_t clipboard_forwarded = 0;   // viewer -> server texts allowed
        uint64_t clipboard_dropped = 0;     // viewer -> server texts refused
    };

    InputArbiter(InputPolicy policy, ClipboardPolicy clipboard, Clock::duration idle_timeout);

    // Config reload. The holder keeps the hold across kFirst <-> kLastWins; kShared has no
    // holder, so moving to or from it clears the hold (whoever sends input first under an
    // exclusive policy takes it, releasing what other viewers left down).
    void set_policy(InputPolicy policy, ClipboardPolicy clipboard, Clock::duration idle_timeout);

    // `keycode`: the QEMU Extended Key Event keycode, 0 for a plain KeyEvent. A key-up matches
    // the held key with the same keycode when it has one, else the same keysym.
    InputDecision on_key(uint64_t viewer, bool control, bool down, uint32_t keysym,
                         uint32_t keycode, Clock::time_point now);
    InputDecision on_pointer(uint64_t viewer, bool control, uint8_t buttons, uint16_t x, uint16_t y,
                             Clock::time_point now);
    // The viewer disconnected: the releases for what it left down (keys another viewer also
    // holds under kShared stay down). Frees the hold if it had it.
    std::vector<InputEvent> on_viewer_gone(uint64_t viewer);
    // The upstream (re)connected: a fresh server has nothing down, so forget every held key and
    // button without releasing them. The hold stays.
    void reset_server_state();

    // Viewer -> server clipboard text: only from a control viewer whose input would pass now,
    // under kBoth or kToServer. Asking does not take the hold or count as activity.
    bool may_send_clipboard(uint64_t viewer, bool control, Clock::time_point now);
    // Server -> viewer clipboard text, under kBoth or kToViewers. View-only viewers get none:
    // the clipboard can hold what the screen never shows (a password copied from a manager), and
    // a view-only password grants seeing the screen only. TigerVNC's view-only access level
    // likewise leaves out clipboard access in both directions.
    bool receives_clipboard(bool control) const;

    // The viewer holding the input under kFirst / kLastWins (an idle holder still counts until
    // someone takes over); none under kShared.
    std::optional<uint64_t> holder() const { return holder_; }
    InputPolicy policy() const { return policy_; }
    ClipboardPolicy clipboard_policy() const { return clipboard_; }
    const Stats& stats() const { return stats_; }

  private:
    struct HeldKey {
        uint32_t keysym = 0, keycode = 0;
    };
    struct ViewerKeys {
        uint64_t viewer = 0;
        std::vector<HeldKey> keys;  // oldest first, at most kMaxHeldKeys
    };
    struct ServerPointer {
        uint64_t owner = 0;  // the viewer whose event the server saw last
        uint8_t buttons = 0;
        uint16_t x = 0, y = 0;
    };

    bool exclusive() const { return policy_ != InputPolicy::kShared; }
    bool holder_expired(Clock::time_point now) const;
    // Whether this control viewer's input would pass now (without taking the hold).
    bool may_input(uint64_t viewer, Clock::time_point now) const;
    // Gives `viewer` the hold if the policy is exclusive, appending the releases for what every
    // other viewer left down.
    void take_hold(uint64_t viewer, std::vector<InputEvent>& releases);
    // Appends releases for everything `viewer` left down, and forgets it.
    void release_viewer(uint64_t viewer, std::vector<InputEvent>& releases);
    bool key_held_by_other(uint64_t viewer, const HeldKey& k) const;
    ViewerKeys* keys_of(uint64_t viewer);
    void note_forwarded(uint64_t viewer, Clock::time_point now);

    InputPolicy policy_;
    ClipboardPolicy clipboard_;
    Clock::duration idle_timeout_;
    std::optional<uint64_t> holder_;
    Clock::time_point holder_last_input_{};
    // Only viewers with keys down have an entry, and under kFirst / kLastWins only the holder
    // has one: a few entries at any moment, so a linear search beats a map.
    std::vector<ViewerKeys> held_;
    ServerPointer pointer_;
    Stats stats_;
};

}  // namespace rfbcast
