"""A twin of the Profile message whose samples stay raw bytes (decoded by formats.protowire)."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def profile_with_raw_samples():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    from . import profile_pb2

    fd = descriptor_pb2.FileDescriptorProto.FromString(profile_pb2.DESCRIPTOR.serialized_pb)
    pkg = fd.package
    fd.name = "perfkit_profile_raw.proto"
    fd.package = pkg + "raw"
    for m in fd.message_type:
        for f in m.field:
            if f.type_name:
                f.type_name = f.type_name.replace(f".{pkg}.", f".{fd.package}.", 1)
    prof = next(m for m in fd.message_type if m.name == "Profile")
    sample = next(f for f in prof.field if f.number == 2)
    sample.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
    sample.ClearField("type_name")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{fd.package}.Profile"))
