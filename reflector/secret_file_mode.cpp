#include "reflector/secret_file_mode.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace rfbcast {
namespace {

// "rw" for read and write bits in the class selected by the three masks.
std::string bit_letters(mode_t mode, mode_t r, mode_t w, mode_t x) {
    std::string s;
    if (mode & r) s += 'r';
    if (mode & w) s += 'w';
    if (mode & x) s += 'x';
    return s;
}

}  // namespace

std::optional<std::string> secret_file_mode_warning(mode_t mode, gid_t file_gid,
                                                    std::span<const gid_t> process_gids) {
    const bool own_group =
        std::find(process_gids.begin(), process_gids.end(), file_gid) != process_gids.end();
    const std::string group_bits =
        own_group ? std::string() : bit_letters(mode, S_IRGRP, S_IWGRP, S_IXGRP);
    const std::string other_bits = bit_letters(mode, S_IROTH, S_IWOTH, S_IXOTH);
    if (group_bits.empty() && other_bits.empty()) return std::nullopt;

    std::string who;
    if (!group_bits.empty())
        who = "group " + std::to_string(file_gid) + ", which this process is not in";
    if (!other_bits.empty()) who += who.empty() ? "others" : ", and by others";
    std::string chmod;
    if (!group_bits.empty()) chmod = "g-" + group_bits;
    if (!other_bits.empty()) chmod += (chmod.empty() ? "o-" : ",o-") + other_bits;
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
    return "accessible by " + who + " (mode " + octal + "); remove those bits: chmod " + chmod;
}

std::vector<gid_t> process_group_ids() {
    std::vector<gid_t> gids{::getegid()};
    // The list can change between the two calls only if something calls setgroups meanwhile;
    // then the second call fails and the warning errs on the side of warning.
    const int n = ::getgroups(0, nullptr);
    if (n > 0) {
        std::vector<gid_t> extra(static_cast<size_t>(n));
        const int got = ::getgroups(n, extra.data());
        if (got > 0) gids.insert(gids.end(), extra.begin(), extra.begin() + got);
    }
    return gids;
}

}  // namespace rfbcast
