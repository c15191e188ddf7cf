#pragma once
#include <cstddef>
#include <map>
#include <string>

#include "codec/shared_bytes.h"

// The browser viewer's files (noVNC's modules and rfbcast's own page), read into memory once at
// start: serving them never blocks the event loop on the disk, and nothing outside the web root
// can be named by a request, because only what was loaded exists.
namespace rfbcast {

class StaticFiles {
  public:
    struct File {
        rfb::SharedBytes bytes;
        std::string content_type;
    };
    // Loads every regular file under `root` (symbolic links are not followed), at most
    // `max_total` bytes and 4096 files. False with `error` when the root cannot be read or the
    // caps are exceeded.
    bool load(const std::string& root, size_t max_total, std::string& error);
    // `path` as requested ("/novnc/core/rfb.js"); nullptr when there is no such file.
    const File* find(const std::string& path) const;
    size_t size() const { return files_.size(); }
    size_t total_bytes() const { return total_; }

    static std::string content_type_for(const std::string& path);

  private:
    std::map<std::string, File> files_;
    size_t total_ = 0;
};

}  // namespace rfbcast
