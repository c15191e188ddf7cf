#include "reflector/session.h"

#include <algorithm>

#include "codec/byte_writer.h"
#include "codec/server_messages.h"
#include "metrics/metrics.h"
#include "reflector/log.h"
#include "reflector/viewer_connection.h"

namespace rfbcast {

Session::Session(EventLoop& loop, SessionOptions options, TileEncodeService& encoder,
                 metrics::Metrics* metrics)
    : loop_(loop),
      options_(std::move(options)),
      encoder_(encoder),
      process_metrics_(metrics ? *metrics : metrics::unscraped_metrics()),
      metrics_(process_metrics_.session(options_.name)),
      desktop_name_(options_.name),
      arbiter_(options_.input_policy, options_.clipboard, options_.input_idle_timeout) {
    // Viewers whose tiles the full pool refused wait for encodes to finish, then try again.
    progress_listener_ = encoder_.add_progress_listener([this] {
        if (in_update_) return;
        for (auto& v : viewers_)
            v->try_send();
    });
    check_viewers_progress();
}

Session::~Session() {
    encoder_.remove_progress_listener(progress_listener_);
    if (progress_timer_) loop_.cancel_timer(progress_timer_);
}

// Once a second: viewers that took nothing for the stall timeout are closed (each closes itself
// with its reason; removal is deferred, so the list stays intact here).
void Session::check_viewers_progress() {
    const Clock::time_point now = loop_.now();
    for (auto& v : viewers_) {
        v->check_progress(now);
        v->sample_metrics(now);
    }
    progress_timer_ = loop_.add_timer(std::chrono::seconds(1), [this] {
        progress_timer_ = 0;
        check_viewers_progress();
    });
}

ViewerRateHistogram Session::viewer_rates() const {
    ViewerRateHistogram h;
    const Clock::time_point now = loop_.now();
    for (const auto& v : viewers_) {
        const double bits = v->rate_estimate(now) * 8;
        size_t b = 0;
        while (b < std::size(ViewerRateHistogram::kBounds) &&
               (bits <= 0 || bits > ViewerRateHistogram::kBounds[b]))
            ++b;
        ++h.counts[b];
    }
    return h;
}

double Session::viewer_rate_cap() const {
    double cap = options_.pacing.rate_cap;
    if (options_.egress_cap > 0 && !viewers_.empty()) {
        const double share = options_.egress_cap / static_cast<double>(viewers_.size());
        cap = cap > 0 ? std::min(cap, share) : share;
    }
    return cap;
}

void Session::resized(uint32_t width, uint32_t height) {
    grid_.reset(width, height);
    damaged_.resize(grid_.count());
    changed_.resize(grid_.count());
    damaged_after_copies_.resize(grid_.count());
    copies_.clear();
    damaged_.set_all();
    ++size_generation_;
    ++content_epoch_;
    resized_in_update_ = true;
    LOG_INFO("session-resized", "session=%s size=%ux%u", options_.name.c_str(), width, height);
    for (auto& v : viewers_)
        v->on_resize();
}

void Session::begin_update() {
    in_update_ = true;
    ++content_epoch_;
    copies_.clear();
    damage_before_copy_ = false;
    damaged_after_copies_.clear();
}

void Session::damage(const rfb::Rect& r) {
    if (grid_.count() == 0) return;
    grid_.mark(r, damaged_);
    if (copies_.empty())
        damage_before_copy_ = true;
    else
        grid_.mark(r, damaged_after_copies_);
}

void Session::copy(const rfb::Rect& dst, uint32_t src_x, uint32_t src_y) {
    if (grid_.count() == 0) return;
    grid_.mark(dst, damaged_);
    if (!damage_before_copy_ && !resized_in_update_) copies_.push_back(CopyOp{dst, src_x, src_y});
}

void Session::end_update() {
    in_update_ = false;
    if (grid_.count() == 0) return;
    ++stats_.updates;
    metrics_->framebuffer_update();
    changed_.clear();
    const size_t damaged_count = damaged_.count();
    grid_.rehash(fb_, damaged_, changed_);
    const bool resized = resized_in_update_;
    if (resized_in_update_) {
        // After a resize every tile is new to every viewer, whatever its hash says.
        changed_.set_all();
        resized_in_update_ = false;
    }
    // Scrolling the upstream did not announce becomes copies, when the update carried none of
    // its own (then its copies say what moved, and the row hashes only need recording).
    if (resized || !copies_.empty() || !options_.detect_scroll) {
        scroll_.record(fb_, grid_, damaged_);
    } else {
        const auto moves = scroll_.detect(fb_, grid_, damaged_);
        if (!moves.empty()) {
            for (const rfb::DetectedCopy& m : moves)
                copies_.push_back(CopyOp{m.dst, m.dst.x, m.src_y});
            // Every row inside a detected copy is exactly the moved pixels: nothing in it needs
            // re-sending, whatever was damaged around it.
            damage_before_copy_ = false;
            damaged_after_copies_.clear();
            stats_.scrolls_detected += moves.size();
        }
    }
    damaged_.clear();
    const size_t changed_count = changed_.count();
    stats_.changed_tiles += changed_count;
    stats_.unchanged_tiles += damaged_count > changed_count ? damaged_count - changed_count : 0;
    const bool first = !has_frame_;
    has_frame_ = true;
    if (changed_count == 0 && !first) {
        // Nothing new, but viewers that were held back during the update may send now.
        for (auto& v : viewers_)
            v->try_send();
        return;
    }
    ++generation_;
    const Clock::time_point now = loop_.now();
    if (last_change_ != Clock::time_point{}) {
        const double gap = std::min(1.0, std::chrono::duration<double>(now - last_change_).count());
        frame_interval_ = 0.8 * frame_interval_ + 0.2 * gap;
    }
    last_change_ = now;
    if (damage_before_copy_) copies_.clear();
    copy_sources_.resize(grid_.count());
    copy_sources_.clear();
    changed_after_replay_.resize(grid_.count());
    changed_after_replay_.clear();
    if (!copies_.empty()) {
        rfb::TileBitmap covered(grid_.count());
        for (const CopyOp& c : copies_) {
            grid_.mark(c.src(), copy_sources_);
            grid_.mark_covered(c.dst, covered);
        }
        covered.subtract(damaged_after_copies_);
        changed_after_replay_.merge(changed_);
        changed_after_replay_.subtract(covered);
    }
    const FrameChange change{changed_, copies_, copy_sources_, changed_after_replay_};
    for (auto& v : viewers_)
        v->on_frame(change);
    copies_.clear();
}

void Session::set_cursor(const rfb::CursorImage& cursor) {
    cursor_ = cursor;
    ++cursor_generation_;
    for (auto& v : viewers_)
        v->try_send();
}

void Session::set_desktop_name(const std::string& name) {
    desktop_name_ = name;
    ++name_generation_;
    for (auto& v : viewers_)
        v->try_send();
}

void Session::bell() {
    std::vector<uint8_t> b;
    rfb::ByteWriter w(b);
    rfb::write_bell(w);
    auto msg = rfb::make_shared_bytes(std::move(b));
    for (auto& v : viewers_)
        if (arbiter_.receives_clipboard(v->access() == rfb::AccessLevel::kFull))
            v->send_message(msg);
}

void Session::server_cut_text(const std::string& latin1) {
    std::vector<uint8_t> b;
    rfb::ByteWriter w(b);
    rfb::write_server_cut_text(w, latin1);
    auto msg = rfb::make_shared_bytes(std::move(b));
    for (auto& v : viewers_)
        if (arbiter_.receives_clipboard(v->access() == rfb::AccessLevel::kFull))
            v->send_message(msg);
}

void Session::add_viewer(std::unique_ptr<ViewerConnection> viewer) {
    viewers_.push_back(std::move(viewer));
    if (viewers_changed_) viewers_changed_();
}

void Session::remove_viewer(ViewerConnection* viewer) {
    // The session may be gone by then (a reload removed it and closed its viewers).
    loop_.defer([this, viewer, alive = std::weak_ptr<int>(alive_)] {
        if (alive.expired()) return;
        auto it = std::find_if(viewers_.begin(), viewers_.end(),
                               [&](const auto& p) { return p.get() == viewer; });
        if (it == viewers_.end()) return;
        for (const InputEvent& r : arbiter_.on_viewer_gone((*it)->id()))
            send_input(r);
        viewers_.erase(it);
        if (viewers_changed_) viewers_changed_();
    });
}

void Session::close_all_viewers(const std::string& reason) {
    for (auto& v : viewers_)
        v->shutdown(reason);
    viewers_.clear();
    if (viewers_changed_) viewers_changed_();
}

void Session::drain_viewers(const std::string& reason) {
    // Viewers remove themselves later (remove_viewer defers), so the list stays intact here.
    for (auto& v : viewers_)
        v->drain(reason);
}

void Session::update_options(SessionOptions options) {
    options.name = options_.name;
    options_ = std::move(options);
    arbiter_.set_policy(options_.input_policy, options_.clipboard, options_.input_idle_timeout);
}

void Session::send_input(const InputEvent& e) {
    if (!upstream_ || !upstream_->connected()) return;
    if (e.kind == InputEvent::Kind::kPointer)
        upstream_->send_pointer(e.buttons, e.x, e.y);
    else if (e.keycode != 0 && upstream_->supports_qemu_keys())
        upstream_->send_qemu_key(e.down, e.keysym, e.keycode);
    else
        upstream_->send_key(e.down, e.keysym);
}

void Session::send_input(const InputDecision& d, const InputEvent& e) {
    for (const InputEvent& r : d.releases)
        send_input(r);
    if (d.forward) send_input(e);
}

void Session::input_key(uint64_t viewer, bool control, bool down, uint32_t keysym,
                        uint32_t keycode) {
    const InputDecision d = arbiter_.on_key(viewer, control, down, keysym, keycode, loop_.now());
    send_input(d, InputEvent::key(down, keysym, keycode));
}

void Session::input_pointer(uint64_t viewer, bool control, uint8_t buttons, uint16_t x,
                            uint16_t y) {
    const InputDecision d = arbiter_.on_pointer(viewer, control, buttons, x, y, loop_.now());
    send_input(d, InputEvent::pointer(buttons, x, y));
}

void Session::input_cut_text(uint64_t viewer, bool control, const std::string& latin1) {
    if (!arbiter_.may_send_clipboard(viewer, control, loop_.now())) return;
    if (upstream_ && upstream_->connected()) upstream_->send_cut_text(latin1);
}

}  // namespace rfbcast
