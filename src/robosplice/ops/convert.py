"""Video conversion: `convert_image_to_video_dataset`, `reencode_dataset`, `change_fps`.

The only ops that decode and encode (DESIGN.md), one module each (`images_to_video`, `reencode`,
`change_fps`), with the encoder-settings parser in `encoder_settings`; this module keeps their
import path. Each output episode is encoded on its own, so it starts on a keyframe, and its
packets are concatenated into the camera's files: later edits of the result are still cut by
packet copy. Encoder settings are taken as lerobot 0.6.1 takes them (`RGBEncoderConfig` /
`DepthEncoderConfig`, or any object or mapping with their fields) and recorded in the feature
`info` as the official tools record them. Depth cameras (`info.is_depth_map`) use the depth
settings and keep their 12-bit codes.
"""

from __future__ import annotations

from robosplice.ops.change_fps import change_fps, plan_change_fps
from robosplice.ops.encoder_settings import EncoderLike, parse_encoder
from robosplice.ops.images_to_video import convert_image_to_video_dataset, plan_convert_images
from robosplice.ops.reencode import plan_reencode, reencode_dataset

__all__ = [
    "EncoderLike",
    "change_fps",
    "convert_image_to_video_dataset",
    "parse_encoder",
    "plan_change_fps",
    "plan_convert_images",
    "plan_reencode",
    "reencode_dataset",
]
