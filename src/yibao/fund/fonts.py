"""A CJK font for the report's charts and PDF.

Looked up in this order: the file named by ``YIBAO_CJK_FONT``; WenQuanYi Micro Hei (文泉驿微米黑,
TrueType outlines, Apache-2.0 / GPLv3 with font exception) shipped by the PyPI package
``paperang-p2-fonts-cjk`` (a project dependency, so ``pip install`` is enough and no system
package is needed); then common system locations (Debian ``fonts-wqy-microhei``,
``fonts-noto-cjk``). TrueType outlines matter: the PDF library (fpdf2) and matplotlib both embed
them without trouble.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

SYSTEM_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontError(RuntimeError):
    pass


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    env = os.environ.get("YIBAO_CJK_FONT")
    if env:
        path = Path(env)
        if not path.exists():
            raise FontError(f"YIBAO_CJK_FONT 指向的字体文件不存在: {env}")
        return path
    try:
        from importlib import resources

        path = Path(str(resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"))
        if path.exists():
            return path
    except ModuleNotFoundError:
        pass
    for candidate in SYSTEM_CANDIDATES:
        if Path(candidate).exists():
            return Path(candidate)
    raise FontError(
        "找不到中文字体：请安装 yibao 的依赖（pip install -e .，含 paperang-p2-fonts-cjk 中的文泉驿微米黑），"
        "或设置 YIBAO_CJK_FONT=字体文件路径"
    )


@lru_cache(maxsize=1)
def matplotlib_family() -> str:
    """Register the font with matplotlib and return its family name."""
    from matplotlib import font_manager

    path = str(cjk_font_path())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()
