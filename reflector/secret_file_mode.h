#pragma once
#include <sys/types.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rfbcast {

// Whether a secret file's permissions deserve a warning, and what to do about it. Any access for
// others warns. Group access warns only when the file's group is not one of this process's groups
// (`process_gids`: effective and supplementary): Kubernetes mounts a Secret 0440/0640 with the
// pod's fsGroup, which the process is in and cannot chmod away, so that case stays quiet. The
// text names the file's mode and the bits to remove, e.g.
//   "accessible by others (mode 0644); remove those bits: chmod o-r"
// and holds no double quote, so log call sites can quote it as a value.
std::optional<std::string> secret_file_mode_warning(mode_t mode, gid_t file_gid,
                                                    std::span<const gid_t> process_gids);

// The effective group id and the supplementary groups of this process (getegid, getgroups).
std::vector<gid_t> process_group_ids();

}  // namespace rfbcast
