#include "reflector/input_arbiter.h"

#include <algorithm>

namespace rfbcast {

namespace {

// A QEMU key is known by its keycode (the keysym of its release may differ, or be 0 when the
// viewer had none); a plain key only by its keysym.
bool same_key(uint32_t held_keysym, uint32_t held_keycode, uint32_t keysym, uint32_t keycode) {
    return keycode != 0 ? held_keycode == keycode : held_keysym == keysym;
}

}  // namespace

InputArbiter::InputArbiter(InputPolicy policy, ClipboardPolicy clipboard,
                           Clock::duration idle_timeout)
    : policy_(policy), clipboard_(clipboard), idle_timeout_(idle_timeout) {}

void InputArbiter::set_policy(InputPolicy policy, ClipboardPolicy clipboard,
                              Clock::duration idle_timeout) {
    const bool was_exclusive = exclusive();
    policy_ = policy;
    clipboard_ = clipboard;
    idle_timeout_ = idle_timeout;
    if (was_exclusive != exclusive()) holder_.reset();
}

bool InputArbiter::holder_expired(Clock::time_point now) const {
    return idle_timeout_ > Clock::duration::zero() && now - holder_last_input_ >= idle_timeout_;
}

bool InputArbiter::may_input(uint64_t viewer, Clock::time_point now) const {
    if (policy_ != InputPolicy::kFirst) return true;
    return !holder_ || *holder_ == viewer || holder_expired(now);
}

InputArbiter::ViewerKeys* InputArbiter::keys_of(uint64_t viewer) {
    for (auto& vk : held_)
        if (vk.viewer == viewer) return &vk;
    return nullptr;
}

bool InputArbiter::key_held_by_other(uint64_t viewer, const HeldKey& k) const {
    for (const auto& vk : held_) {
        if (vk.viewer == viewer) continue;
        for (const auto& h : vk.keys)
            if (same_key(h.keysym, h.keycode, k.keysym, k.keycode)) return true;
    }
    return false;
}

void InputArbiter::release_viewer(uint64_t viewer, std::vector<InputEvent>& releases) {
    if (pointer_.owner == viewer && pointer_.buttons != 0) {
        releases.push_back(InputEvent::pointer(0, pointer_.x, pointer_.y));
        pointer_.buttons = 0;
    }
    auto it = std::find_if(held_.begin(), held_.end(),
                           [&](const ViewerKeys& vk) { return vk.viewer == viewer; });
    if (it == held_.end()) return;
    // Newest first: modifiers, pressed before the keys they modify, come up last.
    for (auto k = it->keys.rbegin(); k != it->keys.rend(); ++k)
        if (!key_held_by_other(viewer, *k))
            releases.push_back(InputEvent::key(false, k->keysym, k->keycode));
    held_.erase(it);
}

void InputArbiter::take_hold(uint64_t viewer, std::vector<InputEvent>& releases) {
    if (!exclusive() || holder_ == viewer) return;
    // The buttons are whoever moved the pointer last; the keys are every other viewer's, not
    // only the old holder's (after a reload from kShared several viewers may have keys down).
    if (pointer_.owner != viewer && pointer_.buttons != 0) {
        releases.push_back(InputEvent::pointer(0, pointer_.x, pointer_.y));
        pointer_.buttons = 0;
    }
    for (;;) {
        auto other = std::find_if(held_.begin(), held_.end(),
                                  [&](const ViewerKeys& vk) { return vk.viewer != viewer; });
        if (other == held_.end()) break;
        release_viewer(other->viewer, releases);
    }
    holder_ = viewer;
    ++stats_.holder_changes;
}

void InputArbiter::note_forwarded(uint64_t viewer, Clock::time_point now) {
    ++stats_.forwarded;
    if (holder_ == viewer) holder_last_input_ = now;
}

InputDecision InputArbiter::on_key(uint64_t viewer, bool control, bool down, uint32_t keysym,
                                   uint32_t keycode, Clock::time_point now) {
    InputDecision d;
    if (!control) {
        // A viewer whose control access was taken away mid-press must not leave keys down.
        ++stats_.dropped_view_only;
        release_viewer(viewer, d.releases);
        if (holder_ == viewer) holder_.reset();
        return d;
    }
    ViewerKeys* vk = keys_of(viewer);
    if (!down) {
        const bool held =
            vk && std::any_of(vk->keys.begin(), vk->keys.end(), [&](const HeldKey& h) {
                return same_key(h.keysym, h.keycode, keysym, keycode);
            });
        if (!held) {
            ++stats_.dropped_stale_key_up;
            return d;
        }
    }
    if (!may_input(viewer, now)) {
        ++stats_.dropped_not_holder;
        return d;
    }
    take_hold(viewer, d.releases);
    vk = keys_of(viewer);  // take_hold may have moved held_'s entries

    if (down) {
        if (!vk) {
            held_.push_back(ViewerKeys{viewer, {}});
            vk = &held_.back();
        }
        auto& keys = vk->keys;
        auto same = std::find_if(keys.begin(), keys.end(), [&](const HeldKey& h) {
            return same_key(h.keysym, h.keycode, keysym, keycode);
        });
        // A repeated down (auto-repeat) makes the key the newest again: it is surely still held.
        if (same != keys.end()) keys.erase(same);
        if (keys.size() >= kMaxHeldKeys) {
            const HeldKey oldest = keys.front();
            keys.erase(keys.begin());
            ++stats_.keys_evicted;
            if (!key_held_by_other(viewer, oldest))
                d.releases.push_back(InputEvent::key(false, oldest.keysym, oldest.keycode));
        }
        keys.push_back(HeldKey{keysym, keycode});
    } else {
        auto& keys = vk->keys;
        keys.erase(std::find_if(keys.begin(), keys.end(), [&](const HeldKey& h) {
            return same_key(h.keysym, h.keycode, keysym, keycode);
        }));
        if (keys.empty()) held_.erase(held_.begin() + (vk - held_.data()));
    }
    d.forward = true;
    note_forwarded(viewer, now);
    return d;
}

InputDecision InputArbiter::on_pointer(uint64_t viewer, bool control, uint8_t buttons, uint16_t x,
                                       uint16_t y, Clock::time_point now) {
    InputDecision d;
    if (!control) {
        ++stats_.dropped_view_only;
        release_viewer(viewer, d.releases);
        if (holder_ == viewer) holder_.reset();
        return d;
    }
    if (!may_input(viewer, now)) {
        ++stats_.dropped_not_holder;
        return d;
    }
    take_hold(viewer, d.releases);
    pointer_ = ServerPointer{viewer, buttons, x, y};
    d.forward = true;
    note_forwarded(viewer, now);
    return d;
}

std::vector<InputEvent> InputArbiter::on_viewer_gone(uint64_t viewer) {
    std::vector<InputEvent> releases;
    release_viewer(viewer, releases);
    if (holder_ == viewer) holder_.reset();
    return releases;
}

void InputArbiter::reset_server_state() {
    held_.clear();
    pointer_.buttons = 0;
}

bool InputArbiter::may_send_clipboard(uint64_t viewer, bool control, Clock::time_point now) {
    const bool direction_open =
        clipboard_ == ClipboardPolicy::kBoth || clipboard_ == ClipboardPolicy::kToServer;
    const bool ok = control && direction_open && may_input(viewer, now);
    ++(ok ? stats_.clipboard_forwarded : stats_.clipboard_dropped);
    return ok;
}

bool InputArbiter::receives_clipboard(bool control) const {
    return control &&
           (clipboard_ == ClipboardPolicy::kBoth || clipboard_ == ClipboardPolicy::kToViewers);
}

}  // namespace rfbcast
