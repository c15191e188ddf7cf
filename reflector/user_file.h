#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rfbcast {

// Users for VeNCrypt Plain (a user name and password sent inside TLS), from a file of lines
//
//   name:pbkdf2-sha256:ITERATIONS:SALT_B64:HASH_B64[:view|:control]
//
// with '#' comment lines and blank lines. HASH is PBKDF2-HMAC-SHA256(password, SALT, ITERATIONS)
// with as many bytes as HASH_B64 decodes to (make_user_line writes 32). Base64 is the standard
// alphabet with padding, canonical (what encoding the decoded bytes gives back). The access field
// defaults to control. A password never appears in the file, only a salted, slow hash of it.
//
// Rules, and why:
//   - Names: 1..255 bytes, no ':' (the separator), no spaces or control characters; other bytes
//     (UTF-8) are fine. Compared exactly (case-sensitive), as the VNC servers with Plain do.
//   - Iterations 10000..10000000. Fewer is too cheap to guess offline; more would let a typo in
//     the file (or a hostile file) stall every login for minutes.
//   - Salt 8..64 bytes, hash 16..64 bytes.
//   - Any bad line makes the whole load fail and leaves the table as it was, so a reload with a
//     broken file keeps the previous users instead of locking everyone out or letting a half-read
//     file through. A file with no users is an error too: nobody could log in.
//   - Error texts name file:line and the problem, never the hash, salt or anything that might be
//     a pasted password; only a duplicate's name is quoted.
//
// Cost: check() runs the full PBKDF2 (about 0.1-0.5 s for 100000 iterations on one core, machine
// dependent), so callers should run it off the event loop thread, and the lockout and pre-auth
// limits bound how often a client can make the server pay it. UserTable is immutable once loaded,
// so check() may run on any thread.
enum class UserAccess { kView, kControl };

inline constexpr unsigned kUserMinIterations = 10000;
inline constexpr unsigned kUserMaxIterations = 10000000;
// The default for --hash-password. OWASP (2023) suggests 600000 for PBKDF2-HMAC-SHA256; that is
// over a second per login on a small VM, and every failed attempt costs the same, so rfbcast
// takes the older 100000 and leaves the choice to the admin.
inline constexpr unsigned kUserDefaultIterations = 100000;
inline constexpr size_t kUserSaltLength = 16;  // what make_user_line is given by the helper
inline constexpr size_t kUserHashLength = 32;
inline constexpr size_t kUserMaxNameLength = 255;
inline constexpr size_t kUserFileMaxBytes = 1 << 20;

struct UserRecord {
    std::string name;
    unsigned iterations = 0;
    std::vector<uint8_t> salt;
    std::vector<uint8_t> hash;
    UserAccess access = UserAccess::kControl;
};

class UserTable {
  public:
    UserTable();

    // True when `user` exists and `password` is theirs; `access` (if given) gets their level on
    // success. An unknown user costs the same PBKDF2 as a known one (against a dummy record with
    // the table's highest iteration count), and the hashes are compared in constant time, so
    // neither the answer's timing nor its content tells whether a user exists.
    bool check(std::string_view user, std::string_view password,
               UserAccess* access = nullptr) const;

    size_t size() const { return users_.size(); }
    bool contains(std::string_view name) const { return users_.find(name) != users_.end(); }

    // Replaces every user (names must be unique; the loader guarantees it).
    void assign(std::vector<UserRecord> users);

  private:
    std::map<std::string, UserRecord, std::less<>> users_;
    UserRecord dummy_;
};

// Parses `text` (the file's content); `source` names it in errors ("users.txt:3: ..."). On
// success replaces `table`'s users and returns true; otherwise leaves `table` alone, returns
// false and appends one message per problem to `errors`.
bool parse_user_lines(std::string_view text, std::string_view source, UserTable& table,
                      std::vector<std::string>& errors);

// Reads and parses the file at `path` (at most kUserFileMaxBytes, a regular file). `warnings`
// (if given) gets a note when others may access the file, or a group this process is not in
// (secret_file_mode.h): the hashes are salted and slow, but still worth guessing at offline.
bool load_user_file(const std::string& path, UserTable& table, std::vector<std::string>& errors,
                    std::vector<std::string>* warnings = nullptr);

// One line for the file (no newline) for the --hash-password helper; empty if the name,
// iteration count or salt size breaks the rules above. The access field is written only for
// kView.
std::string make_user_line(std::string_view name, std::string_view password, unsigned iterations,
                           std::span<const uint8_t> salt, UserAccess access = UserAccess::kControl);

}  // namespace rfbcast
