#pragma once
// Apple Remote Desktop authentication (RFB security type 30, what macOS Screen Sharing offers).
//
// Wire format (not in rfbproto.rst; it is what libvncclient's HandleARDAuth and macOS do):
//   server -> client: generator U16, keylen U16, prime (keylen bytes), server public key
//                     (keylen bytes), all big-endian unsigned.
//   client -> server: 128 bytes of AES-128-ECB ciphertext, then the client's public key
//                     (keylen bytes, big-endian, left-padded with zeros).
//   then the usual SecurityResult.
// The AES key is MD5 of the Diffie-Hellman shared secret written as keylen big-endian bytes
// (left-padded). The plaintext is username and password, each in a 64-byte field, each
// NUL-terminated, the unused bytes random.
//
// The Diffie-Hellman exchange is unauthenticated: a man in the middle gets the password. This
// code cannot fix that; it only refuses parameters that would also give it to an eavesdropper.
//
// codec/ has no random source: callers pass random bytes, which are expanded with SHA-256 into
// the private exponent and the padding (see ard_auth.cpp), so tests can pin every output byte.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rfb {

// keylen above this is refused: a hostile server must not make us do huge bignum work.
inline constexpr size_t kArdMaxKeyLength = 1024;  // 8192-bit prime
// A smaller prime would let a passive eavesdropper take the discrete log and read the password.
inline constexpr size_t kArdMinPrimeBits = 512;
inline constexpr size_t kArdMinKeyLength = kArdMinPrimeBits / 8;
inline constexpr size_t kArdCredentialsSize = 128;
inline constexpr size_t kArdCredentialFieldSize = 64;
// A field holds the text and its NUL terminator.
inline constexpr size_t kArdMaxCredentialLength = kArdCredentialFieldSize - 1;
// Fewer random bytes than this cannot make a private exponent worth having.
inline constexpr size_t kArdMinRandomSize = 32;
// The fixed part of the server's message (generator, keylen) that ard_server_message_size reads.
inline constexpr size_t kArdServerHeaderSize = 4;

struct ArdReply {
    bool ok = false;
    std::string error;           // why not, when !ok (never contains a secret)
    std::vector<uint8_t> bytes;  // what the client sends: ciphertext, then public key
};

// Client side. server_msg = generator(U16) keylen(U16) prime(keylen) server_pubkey(keylen),
// exactly as on the wire (nothing before or after it). random = at least keylen bytes (and at
// least kArdMinRandomSize); fresh for every call. The reply is
// 128 bytes AES-128-ECB of the credentials block keyed with MD5(shared secret), followed by the
// client public key (keylen bytes). Username and password must each fit their 64-byte field
// with the terminator (at most 63 bytes) and contain no NUL: libvncclient would silently
// truncate them, and a truncated password only fails later with a less helpful message.
// Refused: keylen 0 or above kArdMaxKeyLength, a prime that is even, not above 1 or shorter
// than kArdMinPrimeBits, a generator outside [2, prime-2], a server public key outside
// (1, prime-1), and a degenerate shared secret.
ArdReply ard_client_reply(std::span<const uint8_t> server_msg, const std::string& username,
                          const std::string& password, std::span<const uint8_t> random);

// How many bytes the whole server message has, given its first 4 bytes (4 + 2 * keylen); 0 if
// fewer than 4 bytes are given or keylen is invalid (below kArdMinKeyLength or above
// kArdMaxKeyLength). Extra bytes after the first 4 are ignored.
size_t ard_server_message_size(std::span<const uint8_t> first4);

// How many bytes the client's reply to a server message with this keylen has (128 + keylen);
// 0 for an invalid keylen.
size_t ard_client_reply_size(size_t keylen);

// ---------------------------------------------------------------------------------------------
// Server side (tests, ard_server; a reflector never plays an ARD server).

// Well-known safe primes, generator 2. The 1024-bit one is what macOS sends (keylen 128).
inline constexpr uint16_t kArdGenerator = 2;
std::span<const uint8_t> ard_rfc2409_group2_prime();   // 1024-bit MODP (RFC 2409 6.2)
std::span<const uint8_t> ard_rfc3526_group14_prime();  // 2048-bit MODP (RFC 3526 3)

struct ArdServerHello {
    bool ok = false;
    std::string error;
    std::vector<uint8_t> message;      // what the server sends (ard_server_message_size bytes)
    std::vector<uint8_t> private_key;  // keylen bytes, big-endian; keep for ard_server_recover
};

// Makes the server message for `prime` (keylen = prime.size() bytes, leading zeros allowed)
// and `generator`, with a private exponent expanded from `random` (same size rules as the
// client). Fails for the same parameters ard_client_reply refuses.
ArdServerHello ard_server_hello(uint16_t generator, std::span<const uint8_t> prime,
                                std::span<const uint8_t> random);

struct ArdCredentials {
    bool ok = false;
    std::string error;
    std::string username;  // up to the first NUL of the field (the whole 64 bytes if none)
    std::string password;
};

// Recovers the credentials from the client's reply to `server_msg` (the hello's message, with
// its private_key). Fails when the reply has the wrong size or a degenerate public key. A wrong
// password does not fail here: it decrypts to the wrong text (or garbage when the client's key
// exchange went wrong), which the caller's comparison rejects.
ArdCredentials ard_server_recover(std::span<const uint8_t> server_msg,
                                  std::span<const uint8_t> private_key,
                                  std::span<const uint8_t> client_reply);

// True when `got` carries exactly this username and password. The time taken does not depend
// on where the bytes differ.
bool ard_credentials_match(const ArdCredentials& got, std::string_view username,
                           std::string_view password);

}  // namespace rfb
