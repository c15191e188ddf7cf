#include "reflector/static_files.h"

#include <filesystem>
#include <fstream>
#include <vector>

namespace rfbcast {

namespace fs = std::filesystem;

std::string StaticFiles::content_type_for(const std::string& path) {
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json") return "application/json";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".ico") return "image/x-icon";
    if (ext == ".wasm") return "application/wasm";
    return "application/octet-stream";
}

bool StaticFiles::load(const std::string& root, size_t max_total, std::string& error) {
    files_.clear();
    total_ = 0;
    std::error_code ec;
    const fs::path base = fs::path(root);
    if (!fs::is_directory(base, ec)) {
        error = "web root " + root + " is not a directory";
        return false;
    }
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
        const fs::path rel = fs::relative(it->path(), base, ec);
        if (ec) break;
        const std::string name = "/" + rel.generic_string();
        const uintmax_t size = it->file_size(ec);
        if (ec) break;
        if (files_.size() >= 4096 || size > max_total - total_) {
            error = "web root " + root + " holds more than " + std::to_string(max_total) +
                    " bytes or 4096 files";
            return false;
        }
        std::ifstream in(it->path(), std::ios::binary);
        std::vector<uint8_t> data(static_cast<size_t>(size));
        if (!in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size))) {
            error = "cannot read " + it->path().string();
            return false;
        }
        total_ += data.size();
        files_[name] = File{rfb::make_shared_bytes(std::move(data)), content_type_for(name)};
    }
    if (ec) {
        error = "cannot read web root " + root + ": " + ec.message();
        return false;
    }
    return true;
}

const StaticFiles::File* StaticFiles::find(const std::string& path) const {
    auto it = files_.find(path);
    return it == files_.end() ? nullptr : &it->second;
}

}  // namespace rfbcast
