#!/usr/bin/env python3
"""flagd's reader from Python, through its C ABI (flagd/reader.h) and ctypes.

    python3 examples/python/flags.py LIBFLAGD_C [FLAGS_FILE]

With a FLAGS_FILE, the flags are compiled in this process (flagd_local_from_file); without,
the script attaches to the daemon's segment "flagd". The test suite runs it on
examples/flags.json and checks what it prints.
"""
import ctypes
import sys


class Handle(ctypes.Structure):
    _fields_ = [("opaque", ctypes.c_uint64 * 2)]


class Details(ctypes.Structure):
    _fields_ = [("reason", ctypes.c_int), ("error", ctypes.c_int), ("has_variant", ctypes.c_int),
                ("generation", ctypes.c_uint64), ("variant", ctypes.c_char * 128)]


def load(path):
    lib = ctypes.CDLL(path)
    reader, context, text = ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p
    lib.flagd_attach.restype = reader
    lib.flagd_attach.argtypes = [text, ctypes.c_char_p, ctypes.c_size_t]
    lib.flagd_local_from_file.restype = reader
    lib.flagd_local_from_file.argtypes = [text, ctypes.c_char_p, ctypes.c_size_t]
    lib.flagd_close.argtypes = [reader]
    lib.flagd_resolve.restype = Handle
    lib.flagd_resolve.argtypes = [reader, text]
    lib.flagd_get_bool.restype = ctypes.c_int
    lib.flagd_get_bool.argtypes = [reader, Handle, context, ctypes.c_int]
    lib.flagd_get_int.restype = ctypes.c_int64
    lib.flagd_get_int.argtypes = [reader, Handle, context, ctypes.c_int64]
    lib.flagd_get_double.restype = ctypes.c_double
    lib.flagd_get_double.argtypes = [reader, Handle, context, ctypes.c_double]
    lib.flagd_get_string.restype = ctypes.c_size_t
    lib.flagd_get_string.argtypes = [reader, Handle, context, text, ctypes.c_char_p, ctypes.c_size_t]
    lib.flagd_evaluate_double.restype = ctypes.c_double
    lib.flagd_evaluate_double.argtypes = [reader, Handle, context, ctypes.c_double, ctypes.POINTER(Details)]
    lib.flagd_reason_name.restype = ctypes.c_char_p
    lib.flagd_reason_name.argtypes = [ctypes.c_int]
    lib.flagd_context_new.restype = context
    lib.flagd_context_free.argtypes = [context]
    lib.flagd_context_set_string.argtypes = [context, text, text]
    lib.flagd_context_set_targeting_key.argtypes = [context, text]
    return lib


def get_string(lib, flags, handle, fallback):
    size = 64
    while True:
        out = ctypes.create_string_buffer(size)
        length = lib.flagd_get_string(flags, handle, None, fallback.encode(), out, size)
        if length < size:
            return out.value.decode()
        size = length + 1  # too small: the full length is known now


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    lib = load(sys.argv[1])
    error = ctypes.create_string_buffer(512)
    if len(sys.argv) > 2:
        flags = lib.flagd_local_from_file(sys.argv[2].encode(), error, len(error))
    else:
        flags = lib.flagd_attach(b"flagd", error, len(error))
    if not flags:
        sys.exit("flagd: " + error.value.decode())
    try:
        # Resolve once, evaluate as often as needed.
        checkout = lib.flagd_resolve(flags, b"new-checkout")
        router = lib.flagd_resolve(flags, b"order-router")
        max_qty = lib.flagd_resolve(flags, b"max-order-qty")
        ratio = lib.flagd_resolve(flags, b"risk-limit-ratio")
        spread = lib.flagd_resolve(flags, b"fx-spread")

        print("new-checkout:", bool(lib.flagd_get_bool(flags, checkout, None, 0)))
        print("order-router:", get_string(lib, flags, router, "router-v1"))
        print("max-order-qty:", lib.flagd_get_int(flags, max_qty, None, 0))
        print("risk-limit-ratio:", lib.flagd_get_double(flags, ratio, None, 0.0))

        # A context: the strings must outlive its use, so keep them in Python variables.
        account, region = b"acct-42", b"eu-west"
        context = lib.flagd_context_new()
        lib.flagd_context_set_targeting_key(context, account)
        lib.flagd_context_set_string(context, b"region", region)
        details = Details()
        value = lib.flagd_evaluate_double(flags, spread, context, 9.9, ctypes.byref(details))
        print("fx-spread in eu-west:", value, "variant", details.variant.decode(),
              "reason", lib.flagd_reason_name(details.reason).decode())
        print("fx-spread with no region:", lib.flagd_get_double(flags, spread, None, 9.9))
        lib.flagd_context_free(context)
    finally:
        lib.flagd_close(flags)


if __name__ == "__main__":
    main()
