#include "reflector/user_file.h"

#include "reflector/secret_file_mode.h"

#include <fcntl.h>
#include <nettle/base64.h>
#include <nettle/memops.h>
#include <nettle/pbkdf2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

namespace rfbcast {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr size_t kMinSalt = 8;
constexpr size_t kMaxSalt = 64;
constexpr size_t kMinHash = 16;
constexpr size_t kMaxHash = 64;

std::vector<uint8_t> derive(std::string_view password, unsigned iterations,
                            std::span<const uint8_t> salt, size_t length) {
    std::vector<uint8_t> out(length);
    pbkdf2_hmac_sha256(password.size(), reinterpret_cast<const uint8_t*>(password.data()),
                       iterations, salt.size(), salt.data(), out.size(), out.data());
    return out;
}

std::string base64(std::span<const uint8_t> bytes) {
    std::string out(BASE64_ENCODE_RAW_LENGTH(bytes.size()), '\0');
    base64_encode_raw(out.data(), bytes.size(), bytes.data());
    return out;
}

bool is_b64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

// Standard base64 with padding, and canonical: nettle alone would skip whitespace and accept
// non-zero trailing bits, so two spellings could mean the same bytes.
bool decode_base64(std::string_view text, std::vector<uint8_t>& out) {
    if (text.empty() || text.size() % 4 != 0) return false;
    size_t pad = 0;
    while (pad < 2 && text[text.size() - 1 - pad] == '=')
        ++pad;
    for (size_t i = 0; i < text.size() - pad; ++i)
        if (!is_b64_char(text[i])) return false;
    base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    out.assign(BASE64_DECODE_LENGTH(text.size()), 0);
    size_t length = out.size();
    if (!base64_decode_update(&ctx, &length, out.data(), text.size(), text.data()) ||
        !base64_decode_final(&ctx))
        return false;
    out.resize(length);
    return base64(out) == text;
}

bool valid_user_name(std::string_view name) {
    if (name.empty() || name.size() > kUserMaxNameLength) return false;
    return std::none_of(name.begin(), name.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c <= 0x20 || c == 0x7f || c == ':';
    });
}

bool parse_iterations(std::string_view s, unsigned& out) {
    if (s.empty() || s.size() > 8 || s[0] == '0') return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v < kUserMinIterations || v > kUserMaxIterations) return false;
    out = v;
    return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        const size_t p = s.find(sep);
        out.push_back(s.substr(0, p));
        if (p == std::string_view::npos) return out;
        s.remove_prefix(p + 1);
    }
}

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!s.empty() && space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && space(s.back()))
        s.remove_suffix(1);
    return s;
}

// Parses one non-comment line; on failure `problem` says why without quoting the line.
bool parse_line(std::string_view line, UserRecord& out, std::string& problem) {
    const std::vector<std::string_view> f = split(line, ':');
    if (f.size() != 5 && f.size() != 6) {
        problem = "expected name:pbkdf2-sha256:ITERATIONS:SALT:HASH[:view|control] (" +
                  std::to_string(f.size()) + " fields)";
        return false;
    }
    if (!valid_user_name(f[0])) {
        problem = "bad user name (1-255 bytes, no ':', spaces or control characters)";
        return false;
    }
    if (f[1] != kScheme) {
        problem = "unknown hash scheme (only pbkdf2-sha256)";
        return false;
    }
    if (!parse_iterations(f[2], out.iterations)) {
        problem = "iterations must be a number from " + std::to_string(kUserMinIterations) +
                  " to " + std::to_string(kUserMaxIterations);
        return false;
    }
    if (!decode_base64(f[3], out.salt) || out.salt.size() < kMinSalt ||
        out.salt.size() > kMaxSalt) {
        problem = "salt must be canonical base64 of 8 to 64 bytes";
        return false;
    }
    if (!decode_base64(f[4], out.hash) || out.hash.size() < kMinHash ||
        out.hash.size() > kMaxHash) {
        problem = "hash must be canonical base64 of 16 to 64 bytes";
        return false;
    }
    out.access = UserAccess::kControl;
    if (f.size() == 6) {
        if (f[5] == "view") {
            out.access = UserAccess::kView;
        } else if (f[5] != "control") {
            problem = "access must be 'view' or 'control'";
            return false;
        }
    }
    out.name = std::string(f[0]);
    return true;
}

}  // namespace

UserTable::UserTable() {
    assign({});
}

void UserTable::assign(std::vector<UserRecord> users) {
    users_.clear();
    unsigned iterations = kUserDefaultIterations;
    if (!users.empty()) iterations = 0;
    for (UserRecord& u : users) {
        iterations = std::max(iterations, u.iterations);
        std::string name = u.name;
        users_.emplace(std::move(name), std::move(u));
    }
    // The dummy's salt and hash only need to look like a user's: nobody can match it, because
    // check() never reports success for it.
    dummy_ = UserRecord{};
    dummy_.iterations = iterations;
    dummy_.salt.assign(kUserSaltLength, 0x5a);
    dummy_.hash.assign(kUserHashLength, 0);
}

bool UserTable::check(std::string_view user, std::string_view password, UserAccess* access) const {
    const auto it = users_.find(user);
    const bool known = it != users_.end();
    const UserRecord& r = known ? it->second : dummy_;
    const std::vector<uint8_t> derived = derive(password, r.iterations, r.salt, r.hash.size());
    const bool same = memeql_sec(derived.data(), r.hash.data(), r.hash.size()) != 0;
    if (!known || !same) return false;
    if (access != nullptr) *access = r.access;
    return true;
}

bool parse_user_lines(std::string_view text, std::string_view source, UserTable& table,
                      std::vector<std::string>& errors) {
    std::vector<UserRecord> users;
    std::set<std::string, std::less<>> names;
    bool ok = true;
    size_t line_no = 0;
    const auto report = [&](const std::string& problem) {
        errors.push_back(std::string(source) + ":" + std::to_string(line_no) + ": " + problem);
        ok = false;
    };
    for (std::string_view raw : split(text, '\n')) {
        ++line_no;
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        UserRecord r;
        std::string problem;
        if (!parse_line(line, r, problem)) {
            report(problem);
            continue;
        }
        if (names.count(r.name) != 0) {
            report("duplicate user '" + r.name + "'");
            continue;
        }
        names.insert(r.name);
        users.push_back(std::move(r));
    }
    if (ok && users.empty()) {
        errors.push_back(std::string(source) + ": no users");
        ok = false;
    }
    if (!ok) return false;
    table.assign(std::move(users));
    return true;
}

bool load_user_file(const std::string& path, UserTable& table, std::vector<std::string>& errors,
                    std::vector<std::string>* warnings) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        errors.push_back(path + ": cannot open: " + std::strerror(errno));
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errors.push_back(path + ": not a regular file");
        ::close(fd);
        return false;
    }
    if (static_cast<uint64_t>(st.st_size) > kUserFileMaxBytes) {
        errors.push_back(path + ": larger than " + std::to_string(kUserFileMaxBytes) + " bytes");
        ::close(fd);
        return false;
    }
    // Read to the cap plus one, whatever stat said: the file may grow while it is read.
    std::string text(kUserFileMaxBytes + 1, '\0');
    size_t have = 0;
    while (have < text.size()) {
        const ssize_t n = ::read(fd, text.data() + have, text.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            errors.push_back(path + ": read failed: " + std::strerror(errno));
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        have += static_cast<size_t>(n);
    }
    ::close(fd);
    if (have > kUserFileMaxBytes) {
        errors.push_back(path + ": larger than " + std::to_string(kUserFileMaxBytes) + " bytes");
        return false;
    }
    text.resize(have);
    if (warnings != nullptr) {
        const auto warning = secret_file_mode_warning(st.st_mode, st.st_gid, process_group_ids());
        if (warning) warnings->push_back(path + ": " + *warning);
    }
    return parse_user_lines(text, path, table, errors);
}

std::string make_user_line(std::string_view name, std::string_view password, unsigned iterations,
                           std::span<const uint8_t> salt, UserAccess access) {
    if (!valid_user_name(name) || iterations < kUserMinIterations ||
        iterations > kUserMaxIterations || salt.size() < kMinSalt || salt.size() > kMaxSalt)
        return {};
    const std::vector<uint8_t> hash = derive(password, iterations, salt, kUserHashLength);
    std::string line(name);
    line += ':';
    line += kScheme;
    line += ':' + std::to_string(iterations);
    line += ':' + base64(salt);
    line += ':' + base64(hash);
    if (access == UserAccess::kView) line += ":view";
    return line;
}

}  // namespace rfbcast
