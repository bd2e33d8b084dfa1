"""``yibao serve``: the national interface over HTTP and the bureau API; gateway keys; API users.

``serve_command`` is a Typer group whose own options start the server, so that
``yibao serve --port 8000`` serves and ``yibao serve keys issue H…`` manages keys.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

serve_command = typer.Typer(
    help=(
        "Serve the national interface (POST /fsi/api/callService) and the bureau API (/api) over HTTP.\n\n"
        "Example: yibao serve --port 8000 --workers 2 --database-url postgresql://postgres@127.0.0.1/yibao"
    ),
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)
keys_app = typer.Typer(help="Gateway access keys of institutions (§1.3).  Example: yibao serve keys issue H51140200001",
                       no_args_is_help=True)
user_app = typer.Typer(help="Users of the bureau API.  Example: yibao serve user add admin --role admin", no_args_is_help=True)
serve_command.add_typer(keys_app, name="keys")
serve_command.add_typer(user_app, name="user")

DB_OPTION = typer.Option(None, "--database-url", help="Database URL; default YIBAO_DATABASE_URL or ./yibao-data/yibao.sqlite.")
KEYS_DATA_DIR_OPTION = typer.Option(
    Path(os.environ.get("YIBAO_DATA_DIR", "yibao-data")), "--data-dir",
    help="The data folder yibao serve uses: it holds gateway-master.key, which seals the secrets "
         "(unless YIBAO_GATEWAY_MASTER_KEY is set).",
)


def _engine(database_url: Optional[str]):
    from yibao.storage import db

    engine = db.make_engine(database_url)
    db.create_all(engine)
    return engine


@serve_command.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (uvicorn)."),
    writers: Optional[int] = typer.Option(None, "--writers", min=1, max=32,
                                          help="Writer threads per worker: default 2 on PostgreSQL, 1 on SQLite (which writes one at a time)."),
    database_url: Optional[str] = DB_OPTION,
    data_dir: Path = typer.Option(Path(os.environ.get("YIBAO_DATA_DIR", "yibao-data")), "--data-dir",
                                  help="Folder for the access log (logs/), the API token secret and the gateway master key."),
    no_auth: bool = typer.Option(False, "--no-auth", help="Development only: accept requests without gateway headers."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the national interface and the bureau API.

    Example: yibao serve --host 0.0.0.0 --port 8000 --workers 2
             yibao serve --workers 2 --writers 2 --database-url postgresql://…/yibao
             yibao serve --no-auth          # a local demo without gateway keys
    """
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from yibao.api.security import api_secret
    from yibao.storage import db

    from . import workers as server_workers

    console = Console()
    url = db.normalise_url(database_url or db.default_url())
    engine = _engine(url)  # migrate once, before the workers start
    _warn_of_plain_secrets(engine, console)
    engine.dispose()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YIBAO_DATABASE_URL"] = url
    os.environ["YIBAO_DATA_DIR"] = str(data_dir)
    os.environ["YIBAO_SERVE_WORKERS"] = str(workers)
    if writers is not None:
        os.environ["YIBAO_SERVE_WRITERS"] = str(writers)
    os.environ["YIBAO_API_SECRET"] = os.environ.get("YIBAO_API_SECRET") or api_secret(data_dir)
    if no_auth:
        os.environ["YIBAO_SERVE_NO_AUTH"] = "1"
        console.print("[yellow]--no-auth：不校验服务网关请求头，仅供本机演示使用[/yellow]")
    else:
        os.environ.pop("YIBAO_SERVE_NO_AUTH", None)
        notice = master_key_notice(data_dir)
        if notice:
            console.print(f"[dim]{notice}[/dim]")
    console.print(f"yibao 接口服务 http://{host}:{port}/fsi/api/callService · 业务 API http://{host}:{port}/api/docs · "
                  f"{workers} 个进程 · {url.split('@')[-1]}")
    # Hospital systems keep their connections open between calls: an idle one is closed after 75 s
    # (uvicorn's default of 5 s made clients race the close when they reused one).
    options = dict(log_level=log_level, access_log=False, http="httptools", loop="uvloop" if _has("uvloop") else "asyncio",
                   timeout_keep_alive=75)
    if workers > 1 and server_workers.supported():
        # A socket per worker, so that the kernel spreads the connections over them (workers.py).
        problem = server_workers.check_port(host, port)
        if problem:
            console.print(f"[red]{problem}[/red]")
            raise typer.Exit(1)
        code = server_workers.Workers(host, port, workers, options).run()
        if code:
            raise typer.Exit(code)
        return
    uvicorn.run(server_workers.APP, factory=True, host=host, port=port, workers=workers, **options)


def master_key_notice(data_dir: Path) -> str | None:
    """Where the gateway's master key comes from, when it is the file in the data folder (the
    default, fine on one machine; production keeps it apart from the data and its backups)."""
    from .sealing import ENV, FILE_NAME

    if os.environ.get(ENV, "").strip():
        return None
    return (f"网关主密钥取自 {data_dir / FILE_NAME}（与数据同一目录，备份数据时会一并带走）；"
            f"生产环境请由密钥管理系统设置环境变量 {ENV}（64 位十六进制），见 docs/interface-http.md")


def _warn_of_plain_secrets(engine, console: Console) -> None:
    from .gateway import plain_secrets

    with engine.connect() as conn:
        plain = len(plain_secrets(conn))
    if plain:
        console.print(f"[yellow]{plain} 个访问密钥的密钥以明文存储（签发于加密存储之前）："
                      f"请运行 yibao serve keys seal --data-dir <与本服务相同的数据目录>[/yellow]")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@keys_app.command("issue")
def issue_command(
    fixmedins_code: str = typer.Argument(..., help="The institution the key acts as, e.g. H51140200001."),
    sm3: bool = typer.Option(False, "--sm3", help="Sign with HMAC-SM3 instead of HMAC-SHA1."),
    sm2_public_key: Optional[str] = typer.Option(None, "--sm2-public-key", help="Hex SM2 public key: requests must then carry an SM2 signature of input in cainfo."),
    database_url: Optional[str] = DB_OPTION,
    data_dir: Path = KEYS_DATA_DIR_OPTION,
) -> None:
    """Issue an access key (AK) and secret (SK) for an institution. The secret is shown once here
    and stored sealed with SM4 under the installation's master key.

    Example: yibao serve keys issue H51140200001 --sm3
    """
    from .gateway import issue_key
    from .sealing import SecretBox

    engine = _engine(database_url)
    try:
        box = SecretBox.of(data_dir)
        with engine.begin() as conn:
            key = issue_key(conn, fixmedins_code, box=box, algorithm="HMAC-SM3" if sm3 else "HMAC-SHA1",
                            sm2_public_key=sm2_public_key)
    except ValueError as exc:
        Console().print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console = Console()
    console.print(f"机构 {key.fixmedins_code} 的访问密钥（签名算法 {key.algorithm}）：")
    console.print(f"  _api_access_key  {key.access_key}")
    console.print(f"  secret (SK)      {key.secret}")
    console.print("[yellow]请将 SK 安全地交给该机构；此处仅显示一次（yibao serve keys list 不显示）。[/yellow]")


@keys_app.command("list")
def list_command(
    fixmedins_code: Optional[str] = typer.Argument(None, help="Only this institution's keys."),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """List access keys (never their secrets).  Example: yibao serve keys list H51140200001"""
    from .gateway import list_keys

    engine = _engine(database_url)
    with engine.connect() as conn:
        rows = list_keys(conn, fixmedins_code)
    from .sealing import is_sealed

    table = Table(title="服务网关访问密钥")
    for column in ("机构", "access key", "算法", "SM2", "密钥存储", "状态", "签发时间", "吊销时间"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.fixmedins_code, r.access_key, r.algorithm, "是" if r.sm2_public_key else "",
                      "SM4 加密" if is_sealed(r.secret) else "[yellow]明文（请运行 keys seal）[/yellow]", r.status,
                      f"{r.created_at:%Y-%m-%d %H:%M}", f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "")
    Console(width=max(Console().width, 140)).print(table)  # keys are long: never wrap them


@keys_app.command("seal")
def seal_command(database_url: Optional[str] = DB_OPTION, data_dir: Path = KEYS_DATA_DIR_OPTION) -> None:
    """Seal (SM4) the secrets of keys issued before secrets were stored encrypted.

    Run it with the same --data-dir (or YIBAO_GATEWAY_MASTER_KEY) as yibao serve.
    Example: yibao serve keys seal --data-dir /srv/yibao
    """
    from .gateway import seal_stored_secrets
    from .sealing import SealError, SecretBox

    engine = _engine(database_url)
    try:
        box = SecretBox.of(data_dir)
    except SealError as exc:
        Console().print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    with engine.begin() as conn:
        sealed = seal_stored_secrets(conn, box)
    Console().print(f"[green]已加密 {sealed} 个明文存储的访问密钥[/green]" if sealed else "所有访问密钥均已加密存储")


@keys_app.command("revoke")
def revoke_command(access_key: str = typer.Argument(..., help="The key to revoke."), database_url: Optional[str] = DB_OPTION) -> None:
    """Revoke an access key; running servers refuse it within 5 seconds.

    Example: yibao serve keys revoke AK3f2a…
    """
    from .gateway import revoke_key

    engine = _engine(database_url)
    with engine.begin() as conn:
        done = revoke_key(conn, access_key)
    if not done:
        Console().print(f"[red]没有有效的访问密钥 {access_key}[/red]")
        raise typer.Exit(1)
    Console().print(f"[green]已吊销 {access_key}[/green]")


@user_app.command("add")
def user_add_command(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", help="agent 经办 | supervisor 监管 | fund 基金 | admin 管理员"),
    display_name: str = typer.Option("", "--name", help="Display name."),
    password: Optional[str] = typer.Option(None, "--password", help="Password (asked for when omitted; at least 8 characters)."),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Create a user of the bureau API.

    Example: yibao serve user add admin --role admin
    """
    from yibao.api.security import UserError, add_user

    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            made = add_user(conn, username, password, role, display_name=display_name)
    except UserError as exc:
        Console().print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    Console().print(f"[green]已创建用户 {made['username']}（角色 {made['role']}）[/green]")


@user_app.command("list")
def user_list_command(database_url: Optional[str] = DB_OPTION) -> None:
    """List API users.  Example: yibao serve user list"""
    from sqlalchemy import select

    from yibao.api.security import ROLES
    from yibao.storage import schema as s

    engine = _engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(s.api_users).order_by(s.api_users.c.username)).fetchall()
    table = Table(title="业务 API 用户")
    for column in ("用户名", "姓名", "角色", "状态", "最近登录"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.username, r.display_name, f"{r.role}（{ROLES.get(r.role, '')}）", "有效" if r.active else "停用",
                      f"{r.last_login_at:%Y-%m-%d %H:%M}" if r.last_login_at else "")
    Console().print(table)
